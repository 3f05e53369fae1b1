import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { parseTraceParent, TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { MsgHdrs } from '@nats-io/transport-node';
import { maskString } from './masking';

export { SpanKind, SpanStatusCode };
export type { Attributes, Context, Span };

export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** Instrumentation scope of the spans started here. */
export const TRACER_NAME = '@palisade/telemetry';

/**
 * What the propagation helpers need from NATS headers. `MsgHdrs` (from `headers()` of
 * @nats-io/transport-node, or `msg.headers`) satisfies it.
 */
export type TraceHeaders = Pick<MsgHdrs, 'get' | 'set' | 'keys'>;

// A private propagator instance: injection and extraction work the same whether or not
// startTelemetry() registered a global propagator (unit tests, CLI tools).
const propagator = new W3CTraceContextPropagator();

const setter: TextMapSetter<TraceHeaders> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<TraceHeaders> = {
  keys(carrier) {
    return carrier.keys();
  },
  get(carrier, key) {
    // NATS header names are case-sensitive; W3C says traceparent is case-insensitive. Exact first.
    const exact = carrier.get(key);
    if (exact) return exact;
    const found = carrier.keys().find((k) => k.toLowerCase() === key);
    return found ? carrier.get(found) || undefined : undefined;
  },
};

/**
 * Write W3C `traceparent` (and `tracestate`) of `ctx` (default: the active context) into NATS headers.
 * Writes nothing when the context carries no valid span. Returns the headers.
 */
export function injectTraceContext<H extends TraceHeaders>(headers: H, ctx: Context = context.active()): H {
  propagator.inject(ctx, headers, setter);
  return headers;
}

/**
 * Read W3C trace context from NATS headers (e.g. `msg.headers`). Returns `base` (default: the root
 * context, so that a handler never inherits whatever was active when its subscription started)
 * with the remote span context set, or `base` unchanged when there is none or it is malformed.
 */
export function extractTraceContext(headers?: TraceHeaders, base: Context = ROOT_CONTEXT): Context {
  if (!headers) return base;
  return propagator.extract(base, headers, getter);
}

/**
 * The W3C traceparent of `ctx` (default: active), e.g. "00-4bf9…4736-00f0…02b7-01", for the CloudEvents
 * distributed-tracing `traceparent` extension. Undefined when there is no valid span.
 */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The W3C tracestate of `ctx` (default: active), or undefined when empty. */
export function tracestateOf(ctx: Context = context.active()): string | undefined {
  const state = trace.getSpanContext(ctx)?.traceState?.serialize();
  return state ? state : undefined;
}

/**
 * A context whose (remote) parent is the span named by a traceparent string — the inverse of
 * traceparentOf(), used for an event's `traceparent` extension. Malformed or absent → `base`.
 */
export function contextFromTraceparent(
  traceparent: string | undefined | null,
  tracestate?: string | null,
  base: Context = ROOT_CONTEXT,
): Context {
  if (!traceparent) return base;
  const parsed = parseTraceParent(traceparent.trim());
  if (!parsed || !isSpanContextValid(parsed)) return base;
  return trace.setSpanContext(base, {
    ...parsed,
    isRemote: true,
    ...(tracestate ? { traceState: new TraceState(tracestate) } : {}),
  });
}

/** Trace and span id of the active span (what the JSON logger writes), if any. */
export function currentTraceIds(
  ctx: Context = context.active(),
): { traceId: string; spanId: string } | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

export interface WithSpanOptions {
  /** Parent context. Default: the active context. */
  parent?: Context;
  attributes?: Attributes;
  links?: Link[];
  /** Start a new trace even if the parent has a span. */
  root?: boolean;
}

/**
 * Run `fn` inside a new span of `kind`, child of `options.parent` (default: active context). The span
 * is active while `fn` runs (sync or async) and is also passed in, with its context, for explicit
 * propagation. It ends when `fn` returns or its promise settles; a throw/rejection is recorded
 * (masked) with status ERROR and rethrown. Returns what `fn` returns.
 */
export function withSpan<T>(
  name: string,
  kind: SpanKind,
  fn: (span: Span, ctx: Context) => T,
  options: WithSpanOptions = {},
): T {
  const parent = options.parent ?? context.active();
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(
      name,
      { kind, attributes: options.attributes, links: options.links, root: options.root },
      parent,
    );
  const ctx = trace.setSpan(parent, span);
  let result: T;
  try {
    result = context.with(ctx, fn, undefined, span, ctx);
  } catch (err) {
    failSpan(span, err);
    span.end();
    throw err;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        failSpan(span, err);
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

/** Record an error on a span without leaking secrets from its message or stack, and mark it ERROR. */
export function failSpan(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const e = err instanceof Error ? err : undefined;
  const message = maskString(e ? e.message : String(err));
  const code = (e as { code?: unknown } | undefined)?.code;
  span.recordException({
    name: e?.name ?? 'Error',
    message,
    ...(e?.stack ? { stack: maskString(e.stack) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

// ---------------------------------------------------------------------------------------------
// NATS-shaped wrappers: what libs/nats calls around publish, request and handle.

export interface NatsSpanOptions {
  /** Span name. Default "<operation> <subject>"; pass one when subjects carry ids (high cardinality). */
  spanName?: string;
  attributes?: Attributes;
  parent?: Context;
}

/** Messaging semantic-convention attributes of a NATS operation. */
export function natsAttributes(
  subject: string,
  operation: 'publish' | 'request' | 'process',
  extra?: Attributes,
): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
    'messaging.operation.name': operation,
    'messaging.operation.type': operation === 'process' ? 'process' : 'send',
    ...extra,
  };
}

/** Starts a span of `kind`, injects ITS context into `headers` (the receiver becomes its child), runs `fn`. */
function tracedSend<T>(
  kind: SpanKind.PRODUCER | SpanKind.CLIENT,
  operation: 'publish' | 'request',
  subject: string,
  headers: TraceHeaders,
  fn: (span: Span) => T,
  options: NatsSpanOptions,
): T {
  return withSpan(
    options.spanName ?? `${operation} ${subject}`,
    kind,
    (span, ctx) => {
      injectTraceContext(headers, ctx);
      return fn(span);
    },
    { parent: options.parent, attributes: natsAttributes(subject, operation, options.attributes) },
  );
}

/**
 * PRODUCER span around a publish.
 *   tracedPublish(subject, hdrs, () => nc.publish(subject, data, { headers: hdrs }))
 */
export function tracedPublish<T>(
  subject: string,
  headers: TraceHeaders,
  fn: (span: Span) => T,
  options: NatsSpanOptions = {},
): T {
  return tracedSend(SpanKind.PRODUCER, 'publish', subject, headers, fn, options);
}

/**
 * CLIENT span around a request/reply (the span ends when the reply promise settles; a rejection
 * marks it ERROR).
 *   await tracedRequest(subject, hdrs, () => nc.request(subject, data, { headers: hdrs, timeout }))
 */
export function tracedRequest<T>(
  subject: string,
  headers: TraceHeaders,
  fn: (span: Span) => T,
  options: NatsSpanOptions = {},
): T {
  return tracedSend(SpanKind.CLIENT, 'request', subject, headers, fn, options);
}

export interface NatsHandleOptions extends NatsSpanOptions {
  /** SERVER for request/reply handlers (default), CONSUMER for event consumers. */
  kind?: SpanKind.SERVER | SpanKind.CONSUMER;
}

/**
 * SERVER (or CONSUMER) span around a message handler: extracts the caller's context from the
 * message headers and runs `fn` in a child span (a new trace when the message carries none).
 * Everything `fn` does — logs, nested requests, HTTP calls — belongs to that trace.
 *   sub.callback = (err, msg) => tracedHandle(msg.subject, msg.headers, () => handle(msg))
 */
export function tracedHandle<T>(
  subject: string,
  headers: TraceHeaders | undefined,
  fn: (span: Span) => T,
  options: NatsHandleOptions = {},
): T {
  return withSpan(
    options.spanName ?? `process ${subject}`,
    options.kind ?? SpanKind.SERVER,
    (span) => fn(span),
    {
      parent: options.parent ?? extractTraceContext(headers),
      attributes: natsAttributes(subject, 'process', options.attributes),
    },
  );
}
