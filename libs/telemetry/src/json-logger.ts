import type { LoggerService, LogLevel } from '@nestjs/common';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { maskString, redact, serializeError } from './masking';
import { telemetryServiceName } from './state';

export const LOG_LEVEL_ENV = 'PALISADE_LOG_LEVEL';

/** Levels as written in the `level` field, most severe first. NestJS's 'log' is written as 'info'. */
export type JsonLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'verbose';

const SEVERITY: Record<JsonLogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5 };

const LEVEL_ALIASES: Record<string, JsonLogLevel | 'silent'> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  log: 'info',
  debug: 'debug',
  verbose: 'verbose',
  trace: 'verbose',
  silent: 'silent',
  off: 'silent',
  none: 'silent',
};

/** Parse a PALISADE_LOG_LEVEL value; unknown or empty → 'info'. */
export function parseLogLevel(value: string | undefined): JsonLogLevel | 'silent' {
  return LEVEL_ALIASES[(value ?? '').trim().toLowerCase()] ?? 'info';
}

const NEST_TO_JSON: Record<LogLevel, JsonLogLevel> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'verbose',
};

/** Keys of every line, in order; fields with the same name are written as "field.<name>". */
const RESERVED = new Set([
  'time',
  'level',
  'service',
  'context',
  'msg',
  'trace_id',
  'span_id',
  'err',
  'stack',
]);

export interface JsonLoggerOptions {
  /** `service` of every line. Default: the serviceName given to startTelemetry, else $PALISADE_SERVICE, else "palisade". */
  service?: string;
  /** Default `context` (NestJS passes its own as the last string argument). */
  context?: string;
  /** Threshold. Default: $PALISADE_LOG_LEVEL, else 'info'. NestJS's 'log' is accepted as 'info'. */
  level?: string;
  /** Line sink (without newline). Default: process.stdout. */
  write?: (line: string) => void;
}

interface Shared {
  threshold: number;
  /** set by NestJS through setLogLevels(); overrides the threshold */
  enabled?: Set<JsonLogLevel>;
  write: (line: string) => void;
}

/**
 * NestJS LoggerService writing one JSON object per line:
 * {time, level, service, context, msg, trace_id, span_id, err?, stack?, ...fields}.
 *
 * Accepts NestJS's calling conventions (last string argument is the context; for error/fatal a
 * stack string before it) plus structured fields: plain objects anywhere in the arguments are merged
 * into the line, Errors become `err` ({name, message, stack, code, cause}). Everything is masked
 * (see masking.ts). trace_id/span_id come from the active OpenTelemetry span.
 *
 *   app.useLogger(new JsonLogger());              // in main.ts, with bufferLogs: true
 *   new Logger('Projector').log('applied', { stream: 'EVENTS', seq: 42 });
 */
export class JsonLogger implements LoggerService {
  private readonly shared: Shared;
  private readonly service?: string;
  private context?: string;

  constructor(options: JsonLoggerOptions = {}, shared?: Shared) {
    this.service = options.service;
    this.context = options.context;
    if (shared) {
      this.shared = shared;
    } else {
      const level = parseLogLevel(options.level ?? process.env[LOG_LEVEL_ENV]);
      this.shared = {
        threshold: level === 'silent' ? -1 : SEVERITY[level],
        write: options.write ?? ((line) => void process.stdout.write(`${line}\n`)),
      };
    }
  }

  /** A logger with another default context, sharing this one's service, sink and level. */
  child(context: string): JsonLogger {
    return new JsonLogger({ service: this.service, context }, this.shared);
  }

  setContext(context: string): void {
    this.context = context;
  }

  /** Called by NestJS with the enabled levels (NestFactory.create(…, { logger: [...] })). */
  setLogLevels(levels: LogLevel[]): void {
    this.shared.enabled = new Set(levels.map((l) => NEST_TO_JSON[l]).filter(Boolean));
  }

  /** Change the threshold at runtime ('info', 'debug', 'silent'…); clears levels set by NestJS. */
  setLevel(level: string): void {
    const parsed = parseLogLevel(level);
    this.shared.threshold = parsed === 'silent' ? -1 : SEVERITY[parsed];
    this.shared.enabled = undefined;
  }

  isLevelEnabled(level: JsonLogLevel | LogLevel): boolean {
    const l = level === 'log' ? 'info' : level;
    if (this.shared.enabled) return this.shared.enabled.has(l);
    return SEVERITY[l] <= this.shared.threshold;
  }

  log(message: unknown, ...optionalParams: unknown[]): void {
    this.write('info', message, optionalParams);
  }

  /** Plain alias of log(), for code that is not NestJS-shaped. */
  info(message: unknown, ...optionalParams: unknown[]): void {
    this.write('info', message, optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.write('error', message, optionalParams);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('verbose', message, optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams);
  }

  private write(level: JsonLogLevel, message: unknown, optionalParams: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    let line: string;
    try {
      line = JSON.stringify(this.record(level, message, optionalParams));
    } catch (err) {
      // Never let logging throw into business code.
      line = JSON.stringify({
        time: new Date().toISOString(),
        level,
        service: this.serviceName(),
        context: this.context,
        msg: '[unserialisable log record]',
        err: serializeError(err),
      });
    }
    this.shared.write(line);
  }

  private serviceName(): string {
    return this.service ?? telemetryServiceName() ?? process.env.PALISADE_SERVICE ?? 'palisade';
  }

  private record(level: JsonLogLevel, message: unknown, optionalParams: unknown[]): Record<string, unknown> {
    const params = [...optionalParams];
    let ctx = this.context;
    let stack: string | undefined;

    // NestJS: the last string argument is the context …
    const last = params[params.length - 1];
    if (params.length > 0 && typeof last === 'string' && !isStackTrace(last)) {
      ctx = last;
      params.pop();
    }
    // … and for error/fatal, a string (or undefined) before it is a stack trace.
    if ((level === 'error' || level === 'fatal') && params.length > 0) {
      const maybeStack = params[params.length - 1];
      if (maybeStack === undefined || typeof maybeStack === 'string') {
        params.pop();
        stack = maybeStack;
      }
    }

    const fields: Record<string, unknown> = {};
    const extra: unknown[] = [];
    let err: unknown;
    let msg: string;

    if (message instanceof Error) {
      err = message;
      msg = message.message;
    } else if (isPlainObject(message)) {
      const obj: Record<string, unknown> = { ...message };
      if (typeof obj.msg === 'string') {
        msg = obj.msg;
        delete obj.msg;
      } else if (typeof obj.message === 'string') {
        msg = obj.message;
        delete obj.message;
      } else {
        msg = '';
      }
      Object.assign(fields, obj);
    } else if (typeof message === 'string') {
      msg = message;
    } else if (message === undefined) {
      msg = '';
    } else {
      msg = stringify(message);
    }

    for (const p of params) {
      if (p instanceof Error) {
        if (err === undefined) err = p;
        else extra.push(p);
      } else if (isPlainObject(p)) {
        Object.assign(fields, p);
      } else if (p !== undefined) {
        extra.push(p);
      }
    }

    const rec: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: this.serviceName(),
      context: ctx,
      msg: maskString(msg),
    };
    const span = trace.getSpanContext(context.active());
    if (span && isSpanContextValid(span)) {
      rec.trace_id = span.traceId;
      rec.span_id = span.spanId;
    }
    if (err !== undefined) rec.err = serializeError(err);
    if (stack) rec.stack = maskString(stack);
    if (extra.length > 0) fields.args = extra;

    const masked = redact(fields) as Record<string, unknown>;
    for (const [k, v] of Object.entries(masked)) {
      rec[RESERVED.has(k) ? `field.${k}` : k] = v;
    }
    return rec;
  }
}

function isStackTrace(s: string): boolean {
  return /\n[ \t]+at .+:\d+:\d+/.test(s);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function stringify(v: unknown): string {
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(redact(v));
    } catch {
      return Object.prototype.toString.call(v);
    }
  }
  return String(v);
}
