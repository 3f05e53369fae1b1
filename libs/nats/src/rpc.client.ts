import {
  headers as natsHeaders,
  MsgHdrs,
  NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { RpcError, RpcReply } from '@palisade/contracts';
import { tracing } from './trace.hooks';

export interface RequestOptions {
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** Request/reply over core NATS with the Palisade reply envelope and typed errors. */
export class NatsRpcClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  async request<T = unknown>(subject: string, payload: unknown, options: RequestOptions = {}): Promise<T> {
    const hdrs: MsgHdrs = natsHeaders();
    for (const [key, value] of Object.entries(options.headers ?? {})) hdrs.set(key, value);
    return tracing.clientSpan(subject, hdrs, async () => {
      let raw;
      try {
        raw = await this.nc.request(subject, JSON.stringify(payload ?? {}), {
          timeout: options.timeoutMs ?? this.defaultTimeoutMs,
          headers: hdrs,
        });
      } catch (error) {
        throw toRpcError(error, subject);
      }
      let reply: RpcReply<T>;
      try {
        reply = raw.json<RpcReply<T>>();
      } catch {
        throw new RpcError('internal', `reply on ${subject} is not JSON`);
      }
      if (reply.ok) return reply.data;
      throw new RpcError(reply.error.code, reply.error.message, reply.error.details);
    });
  }
}

export function toRpcError(error: unknown, subject: string): RpcError {
  if (error instanceof RpcError) return error;
  const cause = error instanceof RequestError ? (error.cause ?? error) : error;
  if (cause instanceof PermissionViolationError || /permissions violation/i.test(String((cause as Error)?.message))) {
    return new RpcError('permission_violation', `not permitted to publish on ${subject}`);
  }
  if (cause instanceof NoRespondersError || /no responders/i.test(String((cause as Error)?.message))) {
    return new RpcError('unavailable', `no service answers ${subject}`);
  }
  if (cause instanceof TimeoutError || /timeout/i.test(String((cause as Error)?.message))) {
    return new RpcError('timeout', `no reply on ${subject} in time`);
  }
  return new RpcError('internal', `request on ${subject} failed: ${(cause as Error)?.message ?? cause}`);
}
