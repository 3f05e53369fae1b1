// Trace-context hooks used by the RPC client, the RPC server and the event log. libs/telemetry installs
// real implementations (W3C trace context in NATS headers); until then they only run the callback.
import type { MsgHdrs } from '@nats-io/transport-node';

export interface TraceHooks {
  /** Starts a CLIENT/PRODUCER span, injects its context into `headers`, runs fn inside it. */
  clientSpan<T>(name: string, headers: MsgHdrs, fn: () => Promise<T>): Promise<T>;
  /** Extracts the caller's context from `headers` and runs fn in a SERVER/CONSUMER child span. */
  serverSpan<T>(name: string, headers: MsgHdrs | undefined, fn: () => Promise<T>): Promise<T>;
  /** The current W3C traceparent, if any (for the CloudEvents `traceparent` extension). */
  currentTraceparent(): string | undefined;
}

export const tracing: TraceHooks = {
  clientSpan: (_name, _headers, fn) => fn(),
  serverSpan: (_name, _headers, fn) => fn(),
  currentTraceparent: () => undefined,
};

export function installTraceHooks(hooks: TraceHooks): void {
  Object.assign(tracing, hooks);
}
