// The reply body of every NATS request/reply (`cmd.<service>.<verb>`). Failures are data, not
// transport errors, so a caller always learns why, and typed codes let it decide what to do.

export const RpcErrorCode = {
  ValidationFailed: 'validation_failed',
  NotFound: 'not_found',
  Forbidden: 'forbidden',
  Conflict: 'conflict',
  Unavailable: 'unavailable',
  Internal: 'internal',
  Timeout: 'timeout',
  PermissionViolation: 'permission_violation',
  /** The agent is frozen (kill switch): nothing runs until an admin thaws it. */
  Frozen: 'frozen',
  RateLimited: 'rate_limited',
  /** A model the turn may use is down (a local-only turn never falls back to the cloud). */
  LlmUnavailable: 'llm_unavailable',
  SandboxUnavailable: 'sandbox_unavailable',
  GrantRefused: 'grant_refused',
  CredentialRevoked: 'credential_revoked',
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];
export const RPC_ERROR_CODES: readonly RpcErrorCode[] = Object.values(RpcErrorCode);

export interface RpcErrorBody {
  code: RpcErrorCode;
  message: string;
  details?: unknown;
}

export type RpcOk<T> = { ok: true; data: T };
export type RpcFail = { ok: false; error: RpcErrorBody };
export type RpcReply<T> = RpcOk<T> | RpcFail;

export class RpcError extends Error {
  override readonly name = 'RpcError';

  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toReply(): RpcFail {
    const error: RpcErrorBody = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { ok: false, error };
  }

  /** Any thrown value as an RpcError; unknown errors become `internal` without leaking their text. */
  static from(error: unknown): RpcError {
    if (error instanceof RpcError) return error;
    return new RpcError(RpcErrorCode.Internal, 'internal error');
  }
}

export function rpcOk<T>(data: T): RpcOk<T> {
  return { ok: true, data };
}

export function rpcFail(code: RpcErrorCode, message: string, details?: unknown): RpcFail {
  return new RpcError(code, message, details).toReply();
}

/** Structural check of a decoded reply body. */
export function isRpcReply(value: unknown): value is RpcReply<unknown> {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  if (v.ok === true) return 'data' in v;
  if (v.ok !== false || v.error === null || typeof v.error !== 'object') return false;
  const e = v.error as Record<string, unknown>;
  return (RPC_ERROR_CODES as readonly unknown[]).includes(e.code) && typeof e.message === 'string';
}

/** The data of an ok reply; throws the RpcError of a failed one (or `internal` if not a reply). */
export function unwrapRpcReply<T>(reply: unknown): T {
  if (!isRpcReply(reply)) throw new RpcError(RpcErrorCode.Internal, 'malformed RPC reply');
  if (reply.ok) return reply.data as T;
  throw new RpcError(reply.error.code, reply.error.message, reply.error.details);
}
