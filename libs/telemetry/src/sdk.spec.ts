import { context, propagation, trace } from '@opentelemetry/api';
import { otlpTracesUrl, startTelemetry } from './sdk';
import { telemetryServiceName } from './state';
import { currentTraceIds, SpanKind, withSpan } from './trace-context';

describe('otlpTracesUrl', () => {
  it.each([
    ['http://127.0.0.1:4318', 'http://127.0.0.1:4318/v1/traces'],
    ['http://127.0.0.1:4318/', 'http://127.0.0.1:4318/v1/traces'],
    ['https://otel.example.org/otlp', 'https://otel.example.org/otlp/v1/traces'],
    ['http://collector:4318/v1/traces', 'http://collector:4318/v1/traces'],
    ['  http://collector:4318  ', 'http://collector:4318/v1/traces'],
  ])('%s → %s', (input, expected) => expect(otlpTracesUrl(input)).toBe(expected));

  it('treats empty as disabled and rejects non-http URLs without echoing credentials', () => {
    expect(otlpTracesUrl(undefined)).toBeUndefined();
    expect(otlpTracesUrl('  ')).toBeUndefined();
    expect(() => otlpTracesUrl('grpc://collector:4317')).toThrow(/http\(s\)/);
    expect(() => otlpTracesUrl('not a url with password=hunter2')).toThrow(/not a valid URL/);
    expect(() => otlpTracesUrl('not a url with password=hunter2')).not.toThrow(/hunter2/);
  });
});

describe('startTelemetry', () => {
  const saved = process.env.PALISADE_OTLP_ENDPOINT;
  afterEach(() => {
    if (saved === undefined) delete process.env.PALISADE_OTLP_ENDPOINT;
    else process.env.PALISADE_OTLP_ENDPOINT = saved;
  });

  it('is idempotent, and can start again after shutdown', async () => {
    delete process.env.PALISADE_OTLP_ENDPOINT;
    const a = startTelemetry({ serviceName: 'one', http: false });
    const b = startTelemetry({ serviceName: 'two', http: false });
    expect(b).toBe(a);
    expect(a.exporting).toBe(false);
    expect(telemetryServiceName()).toBe('one');

    await Promise.all([a.shutdown(), a.shutdown()]);
    expect(telemetryServiceName()).toBeUndefined();
    // globals are released: a fresh start registers again and works
    const c = startTelemetry({ serviceName: 'three', http: false });
    expect(c).not.toBe(a);
    withSpan('x', SpanKind.INTERNAL, () => expect(currentTraceIds()).toBeDefined());
    await c.shutdown();
    withSpan('x', SpanKind.INTERNAL, () => expect(currentTraceIds()).toBeUndefined());
  });

  it('exports when PALISADE_OTLP_ENDPOINT is set; the option overrides the environment', async () => {
    process.env.PALISADE_OTLP_ENDPOINT = 'http://127.0.0.1:9';
    const a = startTelemetry({ serviceName: 'env', http: false });
    expect(a.exporting).toBe(true);
    expect(propagation.fields()).toEqual(['traceparent', 'tracestate']); // W3C only, no baggage
    await a.shutdown(); // nothing recorded, so nothing is sent
    const b = startTelemetry({ serviceName: 'opt', otlpEndpoint: '', http: false });
    expect(b.exporting).toBe(false);
    await b.shutdown();
  });

  it('leaves no global tracer, propagator or context manager behind after shutdown', async () => {
    const h = startTelemetry({ serviceName: 'g', otlpEndpoint: '', http: false });
    await h.shutdown();
    expect(propagation.fields()).toEqual([]);
    const span = trace.getTracer('t').startSpan('s');
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe('0'.repeat(32));
    expect(
      context.with(trace.setSpan(context.active(), span), () => trace.getSpan(context.active())),
    ).toBeUndefined();
  });
});
