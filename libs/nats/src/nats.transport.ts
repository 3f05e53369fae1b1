// A NestJS microservice transport over core NATS that speaks Palisade's RPC envelope.
// Why not Nest's built-in NATS transport: it wraps payloads in its own packet format, has no way to
// give a principal its own inbox prefix, and flattens errors to "Internal server error"; Palisade needs
// typed validation errors back at the caller and trace context from the message headers.
import { HttpException, Logger } from '@nestjs/common';
import { CustomTransportStrategy, RpcException, Server } from '@nestjs/microservices';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { isObservable, lastValueFrom } from 'rxjs';
import { RpcError, RpcErrorCode, RpcReply } from '@palisade/contracts';
import { tracing } from './trace.hooks';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  service: string;
  uptimeSeconds: number;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface PalisadeTransportOptions {
  service: string;
  connection: () => Promise<NatsConnection>;
  /** Extra health checks (database reachable, Docker reachable, …). */
  healthChecks?: () => Promise<Record<string, { ok: boolean; detail?: string }>>;
}

const started = Date.now();

export class PalisadeNatsTransport extends Server implements CustomTransportStrategy {
  private nc?: NatsConnection;
  private readonly subscriptions: Subscription[] = [];
  protected override readonly logger = new Logger('NatsTransport');

  constructor(private readonly options: PalisadeTransportOptions) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.nc = await this.options.connection();
      for (const [pattern, handler] of this.messageHandlers) {
        // A queue group per service so replicas share the load and each request is answered once.
        const sub = this.nc.subscribe(pattern, { queue: this.options.service });
        this.subscriptions.push(sub);
        void this.consume(sub, (data, msg) => handler(data, msg));
      }
      const health = this.nc.subscribe(`health.${this.options.service}`);
      this.subscriptions.push(health);
      void this.consume(health, () => this.health());
      await this.nc.flush();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async health(): Promise<HealthReport> {
    const checks = { nats: { ok: !!this.nc && !this.nc.isClosed() }, ...(await this.options.healthChecks?.()) };
    const bad = Object.values(checks).filter((check) => !check.ok).length;
    return {
      status: bad === 0 ? 'ok' : 'degraded',
      service: this.options.service,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      checks,
    };
  }

  private async consume(sub: Subscription, handle: (data: unknown, msg: Msg) => unknown): Promise<void> {
    for await (const msg of sub) {
      void tracing.serverSpan(msg.subject, msg.headers, () => this.answer(msg, handle));
    }
  }

  private async answer(msg: Msg, handle: (data: unknown, msg: Msg) => unknown): Promise<void> {
    let reply: RpcReply<unknown>;
    try {
      let data: unknown = {};
      if (msg.data.length) {
        try {
          data = msg.json();
        } catch {
          throw new RpcError('validation_failed', 'request body is not valid JSON');
        }
      }
      let result = await handle(data, msg);
      if (isObservable(result)) result = await lastValueFrom(result, { defaultValue: undefined });
      reply = { ok: true, data: result ?? null };
    } catch (error) {
      reply = { ok: false, error: this.describe(error, msg.subject) };
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  private describe(error: unknown, subject: string): { code: RpcErrorCode; message: string; details?: unknown } {
    if (error instanceof RpcError) return { code: error.code, message: error.message, details: error.details };
    if (error instanceof HttpException) {
      // ValidationPipe raises BadRequestException with the list of problems.
      const response = error.getResponse() as { message?: unknown };
      const status = error.getStatus();
      const code: RpcErrorCode =
        status === 400 ? 'validation_failed' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'internal';
      return { code, message: status === 400 ? 'invalid request body' : error.message, details: response.message };
    }
    if (error instanceof RpcException) {
      const payload = error.getError();
      return { code: 'internal', message: typeof payload === 'string' ? payload : 'request failed' };
    }
    // Unknown errors are logged here and answered without internals (no stack traces to callers).
    this.logger.error(`handler for ${subject} failed: ${(error as Error)?.stack ?? error}`);
    return { code: 'internal', message: `internal error handling ${subject}` };
  }

  async close(): Promise<void> {
    for (const sub of this.subscriptions) sub.unsubscribe();
    if (this.nc && !this.nc.isClosed()) await drainWithin(this.nc, 5_000);
  }

  on(): never {
    throw new Error('PalisadeNatsTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.nc as T;
  }
}

/**
 * Drains a connection, but closes it after `ms`: with the server already gone (a stack shutting down
 * in no particular order) a drain waits for a reconnect that never comes, and the process would hang
 * until it is killed — before its own cleanup ran.
 */
export async function drainWithin(nc: NatsConnection, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const drained = nc.drain().catch(() => undefined);
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  if ((await Promise.race([drained, late])) === 'late') await nc.close().catch(() => undefined);
  clearTimeout(timer);
}
