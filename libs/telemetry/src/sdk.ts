import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  trace,
  type Attributes,
  type DiagLogger,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  NoopSpanProcessor,
  ParentBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { JsonLogger } from './json-logger';
import { maskString } from './masking';
import { telemetryState } from './state';

export const OTLP_ENDPOINT_ENV = 'PALISADE_OTLP_ENDPOINT';

export interface TelemetryOptions {
  /** service.name of every span, e.g. "ledger". */
  serviceName: string;
  /**
   * OTLP/HTTP endpoint of the collector, e.g. "http://127.0.0.1:4318" ("/v1/traces" is appended unless
   * present). Defaults to $PALISADE_OTLP_ENDPOINT. Empty or absent: no exporter (see startTelemetry).
   */
  otlpEndpoint?: string;
  /** Extra headers for the collector (authentication). OTEL_EXPORTER_OTLP_HEADERS works as well. */
  otlpHeaders?: Record<string, string>;
  /**
   * Sampler. Default with an exporter: $OTEL_TRACES_SAMPLER, else parent-based always-on.
   * Default without: parent-based always-off (ids and propagation only, nothing recorded).
   */
  sampler?: Sampler;
  serviceVersion?: string;
  resourceAttributes?: Attributes;
  /** Instrument node:http (incoming and outgoing). Default true. */
  http?: boolean;
}

export interface TelemetryHandle {
  readonly serviceName: string;
  /** True when spans are exported to an OTLP collector. */
  readonly exporting: boolean;
  /** Flush pending spans and unregister everything (context manager, propagator, tracer provider). */
  shutdown(): Promise<void>;
}

/** Query parameters never written into url.full / url.query of HTTP spans. */
const REDACTED_QUERY_PARAMS = [
  // the instrumentation's own defaults (the option replaces them)
  'sig',
  'Signature',
  'AWSAccessKeyId',
  'X-Goog-Signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  // ours
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'password',
  'secret',
  'client_secret',
  'api_key',
  'apikey',
  'key',
  'auth',
  'signature',
];

interface SdkState {
  serviceName: string;
  handle: TelemetryHandle;
}

/**
 * Resolve the OTLP traces URL from an endpoint: "http://host:4318" → "http://host:4318/v1/traces".
 * Returns undefined for an empty endpoint. Throws (without echoing the value, which may carry
 * credentials) when it is not an http(s) URL.
 */
export function otlpTracesUrl(endpoint: string | undefined): string | undefined {
  const trimmed = endpoint?.trim();
  if (!trimmed) return undefined;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error(`${OTLP_ENDPOINT_ENV} is not a valid URL: ${maskString(trimmed)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${OTLP_ENDPOINT_ENV} must be an http(s) URL, got protocol ${url.protocol}`);
  }
  if (!/\/v1\/traces\/?$/.test(url.pathname)) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  }
  return url.toString();
}

/**
 * Boot OpenTelemetry for this process. Call it first in main.ts, before NestJS is imported, so that
 * node:http is instrumented before anyone holds a reference to it.
 *
 * With an endpoint: NodeSDK + OTLP/HTTP (JSON) exporter behind a batch processor, http instrumentation.
 * Without: still a real tracer provider, AsyncLocalStorage context manager and W3C propagator, so trace
 * and span ids are generated, flow through NATS and HTTP and appear in the JSON logs; spans are not
 * recorded unless an upstream caller sampled them, and nothing is exported.
 *
 * Idempotent: a second call returns the running handle (the first configuration wins) until
 * shutdown() has completed. OTEL_SDK_DISABLED=true disables everything, propagation included.
 */
export function startTelemetry(options: TelemetryOptions): TelemetryHandle {
  const state = telemetryState() as { current?: SdkState };
  if (state.current) {
    if (state.current.handle.serviceName !== options.serviceName) {
      diag.warn(
        `startTelemetry: already started as "${state.current.handle.serviceName}", ignoring "${options.serviceName}"`,
      );
    }
    return state.current.handle;
  }
  if (!options.serviceName) throw new Error('startTelemetry: serviceName is required');

  const url = otlpTracesUrl(options.otlpEndpoint ?? process.env[OTLP_ENDPOINT_ENV]);
  const exporting = url !== undefined;

  installDiagLogger(options.serviceName);

  const instrumentations =
    options.http === false
      ? []
      : [
          new HttpInstrumentation({
            redactedQueryParams: REDACTED_QUERY_PARAMS,
            redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
          }),
        ];

  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    'service.namespace': 'palisade',
    ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    ...options.resourceAttributes,
  });

  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource,
    // env (OTEL_RESOURCE_ATTRIBUTES) and host only: the process detector would copy the command line.
    resourceDetectors: [envDetector, hostDetector],
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations,
    // NodeSDK would otherwise build OTLP metric and log exporters from the environment.
    metricReaders: [],
    logRecordProcessors: [],
    ...(exporting
      ? {
          traceExporter: new OTLPTraceExporter({ url, headers: options.otlpHeaders }),
          ...(options.sampler ? { sampler: options.sampler } : {}),
        }
      : {
          // A processor must exist or NodeSDK registers no tracer provider at all (and ids stop flowing).
          spanProcessors: [new NoopSpanProcessor()],
          sampler: options.sampler ?? new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        }),
  });
  sdk.start();
  if (instrumentations.length > 0) patchBuiltinsNow();

  let stopping: Promise<void> | undefined;
  const handle: TelemetryHandle = {
    serviceName: options.serviceName,
    exporting,
    shutdown() {
      stopping ??= (async () => {
        try {
          await sdk.shutdown();
        } finally {
          for (const i of instrumentations) i.disable();
          syncBuiltinESMExports();
          trace.disable();
          propagation.disable();
          context.disable();
          if (state.current?.handle === handle) state.current = undefined;
        }
      })();
      return stopping;
    },
  };
  state.current = { serviceName: options.serviceName, handle };
  return handle;
}

/**
 * The http instrumentation patches node:http(s) when they are next require()d, and only their
 * CommonJS exports object. ES modules (NestJS 12 is ESM-only, loaded through require()) see builtins
 * through named-export bindings that follow module.exports only when synced; without this,
 * `import { request } from 'node:http'` in an ES module stays unpatched.
 */
function patchBuiltinsNow(): void {
  const req = createRequire(join(process.cwd(), 'palisade-telemetry.js'));
  req('node:http');
  req('node:https');
  syncBuiltinESMExports();
}

/**
 * OpenTelemetry reports its own trouble (an unreachable collector, a dropped batch) through `diag`,
 * which is silent by default. Route warnings and errors to the JSON log (masked), unless
 * OTEL_LOG_LEVEL already configured a diag logger.
 */
function installDiagLogger(serviceName: string): void {
  if (process.env.OTEL_LOG_LEVEL) return;
  const log = new JsonLogger({ service: serviceName, context: 'OpenTelemetry' });
  const logger: DiagLogger = {
    error: (message, ...args) => log.error(message, ...args.map(asField)),
    warn: (message, ...args) => log.warn(message, ...args.map(asField)),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

/** diag passes loose extra arguments; make each a field object so the logger never takes one for a context. */
function asField(arg: unknown, index: number): Record<string, unknown> {
  return { [`arg${index}`]: arg };
}
