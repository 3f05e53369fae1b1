export { startTelemetry, otlpTracesUrl, OTLP_ENDPOINT_ENV } from './sdk';
export type { TelemetryHandle, TelemetryOptions } from './sdk';
export { telemetryServiceName } from './state';
export {
  injectTraceContext,
  extractTraceContext,
  traceparentOf,
  tracestateOf,
  contextFromTraceparent,
  currentTraceIds,
  withSpan,
  failSpan,
  natsAttributes,
  tracedPublish,
  tracedRequest,
  tracedHandle,
  SpanKind,
  SpanStatusCode,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  TRACER_NAME,
} from './trace-context';
export type {
  Attributes,
  Context,
  Span,
  TraceHeaders,
  WithSpanOptions,
  NatsSpanOptions,
  NatsHandleOptions,
} from './trace-context';
export { JsonLogger, parseLogLevel, LOG_LEVEL_ENV } from './json-logger';
export type { JsonLoggerOptions, JsonLogLevel } from './json-logger';
export {
  MASK,
  MIN_REGISTERED_SECRET_LENGTH,
  registerSecret,
  unregisterSecret,
  clearRegisteredSecrets,
  isSensitiveKey,
  maskString,
  redact,
  serializeError,
} from './masking';
export type { SerializedError } from './masking';
