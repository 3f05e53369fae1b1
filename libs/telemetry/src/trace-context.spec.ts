import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';
import { AlwaysOnSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { headers } from '@nats-io/transport-node';
import { startTelemetry, type TelemetryHandle } from './sdk';
import {
  contextFromTraceparent,
  currentTraceIds,
  extractTraceContext,
  injectTraceContext,
  SpanKind,
  SpanStatusCode,
  traceparentOf,
  tracestateOf,
  tracedHandle,
  tracedPublish,
  tracedRequest,
  withSpan,
} from './trace-context';
import { TraceState } from '@opentelemetry/core';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function remoteParent(flags = TraceFlags.SAMPLED, state?: string): Context {
  const sc: SpanContext = {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: flags,
    isRemote: false,
    ...(state ? { traceState: new TraceState(state) } : {}),
  };
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

describe('NATS header propagation (no SDK needed)', () => {
  it('round-trips traceparent and tracestate through MsgHdrs', () => {
    const h = headers();
    injectTraceContext(h, remoteParent(TraceFlags.SAMPLED, 'palisade=a1,vendor=b2'));
    expect(h.get('traceparent')).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(h.get('tracestate')).toBe('palisade=a1,vendor=b2');

    const sc = trace.getSpanContext(extractTraceContext(h));
    expect(sc).toMatchObject({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    expect(sc?.traceState?.serialize()).toBe('palisade=a1,vendor=b2');
  });

  it('keeps the unsampled flag', () => {
    const h = injectTraceContext(headers(), remoteParent(TraceFlags.NONE));
    expect(h.get('traceparent')).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
    expect(trace.getSpanContext(extractTraceContext(h))?.traceFlags).toBe(TraceFlags.NONE);
  });

  it('survives the NATS wire encoding of headers', () => {
    const h = injectTraceContext(headers(), remoteParent());
    // MsgHdrs encode to the NATS/1.0 header block; decode it the way a receiving client does.
    const encoded = (h as unknown as { encode(): Uint8Array }).encode();
    const Impl = (h as unknown as { constructor: { decode(a: Uint8Array): typeof h } }).constructor;
    const decoded = Impl.decode(encoded);
    expect(trace.getSpanContext(extractTraceContext(decoded))?.spanId).toBe(SPAN_ID);
  });

  it('reads a header written with other casing', () => {
    const h = headers();
    h.set('Traceparent', `00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(trace.getSpanContext(extractTraceContext(h))?.traceId).toBe(TRACE_ID);
  });

  it('injects nothing without a valid span; extracts the base context from nothing or garbage', () => {
    const h = injectTraceContext(headers(), ROOT_CONTEXT);
    expect(h.keys()).toEqual([]);
    expect(extractTraceContext(undefined)).toBe(ROOT_CONTEXT);
    expect(extractTraceContext(h)).toBe(ROOT_CONTEXT);
    const bad = headers();
    bad.set('traceparent', 'not-a-traceparent');
    expect(trace.getSpanContext(extractTraceContext(bad))).toBeUndefined();
    bad.set('traceparent', `00-${'0'.repeat(32)}-${SPAN_ID}-01`);
    expect(trace.getSpanContext(extractTraceContext(bad))).toBeUndefined();
  });

  it('traceparentOf / contextFromTraceparent round-trip (CloudEvents traceparent extension)', () => {
    const tp = traceparentOf(remoteParent());
    expect(tp).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(tracestateOf(remoteParent(TraceFlags.SAMPLED, 'k=v'))).toBe('k=v');
    expect(tracestateOf(remoteParent())).toBeUndefined();

    const ctx = contextFromTraceparent(tp, 'k=v');
    expect(trace.getSpanContext(ctx)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(traceparentOf(ctx)).toBe(tp);
    expect(tracestateOf(ctx)).toBe('k=v');

    expect(traceparentOf(ROOT_CONTEXT)).toBeUndefined();
    expect(contextFromTraceparent(undefined)).toBe(ROOT_CONTEXT);
    expect(contextFromTraceparent('00-zz-yy-01')).toBe(ROOT_CONTEXT);
    expect(contextFromTraceparent(`00-${TRACE_ID}-${'0'.repeat(16)}-01`)).toBe(ROOT_CONTEXT);
    expect(contextFromTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01-extra`)).toBe(ROOT_CONTEXT);
  });
});

describe('spans (SDK started without exporter)', () => {
  let handle: TelemetryHandle;
  afterEach(async () => handle?.shutdown());

  const recorded = (s: unknown) => s as ReadableSpan;

  it('generates ids and propagates context even when nothing is recorded (default sampler)', async () => {
    handle = startTelemetry({ serviceName: 'unit', otlpEndpoint: '', http: false });
    expect(handle.exporting).toBe(false);

    await withSpan('outer', SpanKind.INTERNAL, async (outer) => {
      expect(outer.isRecording()).toBe(false);
      const ids = currentTraceIds();
      expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ids?.traceId).not.toBe('0'.repeat(32));
      await new Promise((r) => setTimeout(r, 1));
      // still active after an await: AsyncLocalStorage context manager is registered
      expect(currentTraceIds()).toEqual(ids);
      expect(traceparentOf()).toBe(`00-${ids?.traceId}-${ids?.spanId}-00`);
      withSpan('inner', SpanKind.INTERNAL, (inner) => {
        expect(inner.spanContext().traceId).toBe(ids?.traceId);
        expect(inner.spanContext().spanId).not.toBe(ids?.spanId);
      });
    });

    // a sampled remote parent is honoured, so the sampled flag survives a non-exporting hop
    withSpan(
      'child-of-sampled',
      SpanKind.SERVER,
      (span) => {
        expect(span.isRecording()).toBe(true);
        expect(span.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
        expect(recorded(span).parentSpanContext?.spanId).toBe(SPAN_ID);
      },
      { parent: contextFromTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`) },
    );
  });

  it('withSpan ends the span, records masked errors and rethrows (sync and async)', async () => {
    handle = startTelemetry({
      serviceName: 'unit',
      otlpEndpoint: '',
      http: false,
      sampler: new AlwaysOnSampler(),
    });
    let syncSpan: ReadableSpan | undefined;
    expect(() =>
      withSpan('sync', SpanKind.INTERNAL, (span) => {
        syncSpan = recorded(span);
        throw new Error('failed with password=hunter2');
      }),
    ).toThrow('failed with password=hunter2');
    expect(syncSpan?.ended).toBe(true);
    expect(syncSpan?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'failed with password=***' });
    expect(JSON.stringify(syncSpan?.events)).not.toContain('hunter2');

    let asyncSpan: ReadableSpan | undefined;
    await expect(
      withSpan('async', SpanKind.INTERNAL, async (span) => {
        asyncSpan = recorded(span);
        await Promise.resolve();
        throw new Error('Bearer abcdef123456 rejected');
      }),
    ).rejects.toThrow('Bearer abcdef123456 rejected');
    expect(asyncSpan?.ended).toBe(true);
    expect(asyncSpan?.status.message).toBe('Bearer *** rejected');

    const value = await withSpan('ok', SpanKind.INTERNAL, async (span) => {
      asyncSpan = recorded(span);
      return 42;
    });
    expect(value).toBe(42);
    expect(asyncSpan?.ended).toBe(true);
    expect(asyncSpan?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('tracedRequest → headers → tracedHandle: the handler span is a child of the client span', async () => {
    handle = startTelemetry({
      serviceName: 'unit',
      otlpEndpoint: '',
      http: false,
      sampler: new AlwaysOnSampler(),
    });
    const h = headers();
    let client: ReadableSpan | undefined;
    let server: ReadableSpan | undefined;
    let activeInHandler: string | undefined;

    const reply = await tracedRequest('cmd.ledger.append', h, async (span) => {
      client = recorded(span);
      // "the wire": the responder only sees the headers, in a context of its own
      return context.with(ROOT_CONTEXT, () =>
        tracedHandle('cmd.ledger.append', h, async (span2) => {
          server = recorded(span2);
          activeInHandler = traceparentOf();
          return 'pong';
        }),
      );
    });

    expect(reply).toBe('pong');
    expect(h.get('traceparent')).toBe(traceparentOf(trace.setSpan(ROOT_CONTEXT, client as never)));
    expect(client?.kind).toBe(SpanKind.CLIENT);
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe(client?.spanContext().traceId);
    expect(server?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
    expect(server?.parentSpanContext?.isRemote).toBe(true);
    expect(activeInHandler).toContain(server?.spanContext().spanId);
    expect(client?.name).toBe('request cmd.ledger.append');
    expect(server?.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': 'cmd.ledger.append',
      'messaging.operation.type': 'process',
    });
  });

  it('tracedPublish injects the PRODUCER span; tracedHandle(kind CONSUMER) continues it; no headers → new trace', () => {
    handle = startTelemetry({
      serviceName: 'unit',
      otlpEndpoint: '',
      http: false,
      sampler: new AlwaysOnSampler(),
    });
    const h = headers();
    const producer = tracedPublish('evt.job.created', h, (span) => recorded(span));
    const consumer = tracedHandle('evt.job.created', h, (span) => recorded(span), {
      kind: SpanKind.CONSUMER,
    });
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);

    const orphan = tracedHandle('evt.job.created', undefined, (span) => recorded(span));
    expect(orphan.parentSpanContext).toBeUndefined();
    expect(orphan.spanContext().traceId).not.toBe(producer.spanContext().traceId);
  });
});
