// Reply envelope of every `cmd.*` / `health.*` request (one shape, so callers can tell errors apart).
export type RpcErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'unavailable'
  | 'internal'
  | 'timeout'
  | 'permission_violation'
  | 'refused';

export type RpcReply<T> = { ok: true; data: T } | { ok: false; error: { code: RpcErrorCode; message: string; details?: unknown } };

export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}
