import {
  HttpException,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { RpcError, type Scope, uuidv7 } from '@palisade/contracts';
import { SERVICE_CONFIG } from '@palisade/nats';
import { ApiKeyService } from '../auth/api-key.service';
import { ANONYMOUS, AuditService } from '../auth/audit.service';
import type { GatewayAuthConfig } from '../auth/auth.config';
import { FreezeState } from '../auth/freeze-state.service';
import { cookieValue, OperatorAuthService, remoteOf, SESSION_COOKIE } from '../auth/operator-auth.service';
import { OriginPolicy } from '../auth/origin-policy.service';
import { actorOf, type Principal, principalHolds } from '../auth/principal';
import { RateLimiter, RequestLimiter } from '../auth/rate-limiter';
import {
  ConnectParams,
  type EventFrame,
  RequestFrame,
  type ResponseFrame,
  WS_PATH,
  WS_PROTOCOL_VERSION,
  WsClose,
} from './ws-protocol';
import { WsMethodRegistry } from './ws-methods';

/** A slow client whose unsent backlog passes this is disconnected rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

interface Connection {
  id: string;
  ws: WebSocket;
  remote: string;
  alive: boolean;
  principal?: Principal;
  sessionToken?: string;
  handshake?: NodeJS.Timeout;
}

const flatten = (errors: ValidationError[], prefix = ''): string[] =>
  errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => `${prefix}${m}`),
    ...flatten(e.children ?? [], `${prefix}${e.property}.`),
  ]);

async function validated<T extends object>(
  klass: new () => T,
  value: unknown,
): Promise<{ value?: T; problems?: string[] }> {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { problems: ['must be a JSON object'] };
  const instance = plainToInstance(klass, value);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  return errors.length ? { problems: flatten(errors) } : { value: instance };
}

/**
 * The WebSocket endpoint (`/api/ws`) on the gateway's own HTTPS server. Upgrades are rate-limited per
 * address and origin-checked; the first frame must authenticate within the handshake timeout; every
 * request is scope-checked against the method registry; events are broadcast by scope; a revoked key's
 * sockets are closed wherever the revocation happened.
 */
@Injectable()
export class WsGateway implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WsGateway');
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly connectLimiter: RateLimiter;
  private seq = 0;
  private pingTimer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private server?: Server;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.upgrade(req, socket, head);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registry: WsMethodRegistry,
    private readonly keys: ApiKeyService,
    private readonly operator: OperatorAuthService,
    private readonly origins: OriginPolicy,
    private readonly freeze: FreezeState,
    private readonly audit: AuditService,
    private readonly limiter: RequestLimiter,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayAuthConfig,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.PALISADE_GATEWAY_WS_MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
    this.connectLimiter = new RateLimiter(config.PALISADE_GATEWAY_WS_CONNECTS_PER_MINUTE);
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!this.server) return; // no HTTP face (e.g. a NATS-only test context)
    this.server.on('upgrade', this.onUpgrade);
    this.unsubscribe = this.keys.onRevoked(
      (keyId) => this.closeKey(keyId),
      () => void this.recheckKeys(),
    );
    this.pingTimer = setInterval(() => this.ping(), this.config.PALISADE_GATEWAY_WS_PING_SECONDS * 1000);
    this.pingTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.unsubscribe?.();
    this.server?.off('upgrade', this.onUpgrade);
    for (const c of this.connections) c.ws.close(WsClose.GoingAway, 'server shutting down');
    this.wss.close();
  }

  /** Authenticated connections right now. */
  get size(): number {
    let n = 0;
    for (const c of this.connections) if (c.principal) n++;
    return n;
  }

  /**
   * Sends an event to every authenticated connection whose principal holds `requiredScope`
   * (operator.admin holds all). Returns how many connections it went to.
   */
  broadcast(event: string, payload: unknown, requiredScope: Scope): number {
    const frame: EventFrame = { type: 'event', event, payload, seq: ++this.seq };
    const data = JSON.stringify(frame);
    let sent = 0;
    for (const c of this.connections) {
      if (!c.principal || c.ws.readyState !== WebSocket.OPEN || !principalHolds(c.principal, requiredScope))
        continue;
      if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        c.ws.close(WsClose.TryAgainLater, 'client too slow: event backlog too large');
        continue;
      }
      c.ws.send(data);
      sent++;
    }
    return sent;
  }

  /** Closes every socket authenticated with this API key. */
  closeKey(keyId: string): number {
    let closed = 0;
    for (const c of this.connections) {
      if (c.principal?.type === 'apikey' && c.principal.id === keyId) {
        c.ws.close(WsClose.Revoked, 'API key revoked');
        this.connections.delete(c);
        closed++;
      }
    }
    return closed;
  }

  private async recheckKeys(): Promise<void> {
    const ids = new Set(
      [...this.connections].filter((c) => c.principal?.type === 'apikey').map((c) => c.principal!.id),
    );
    for (const id of ids) if (!(await this.keys.isActive(id).catch(() => true))) this.closeKey(id);
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const reject = (status: number, text: string, extra = '') => {
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
    };
    socket.on('error', () => undefined);
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return reject(400, 'Bad Request');
    }
    if (path !== WS_PATH) return reject(404, 'Not Found');
    const remote = remoteOf(req.socket.remoteAddress);
    const wait = this.connectLimiter.take(remote);
    if (wait) return reject(429, 'Too Many Requests', `Retry-After: ${wait}\r\n`);
    // Browsers always send Origin on a WebSocket upgrade; another site's page must not ride on the
    // operator's cookie (cross-site WebSocket hijacking). Clients without a browser send none.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.origins.allows(origin, req.headers.host)) {
      await this.audit.record(
        'gateway.origin.rejected',
        { origin: origin.slice(0, 256), remote, operation: `GET ${WS_PATH} (WebSocket)` },
        ANONYMOUS,
      );
      return reject(403, 'Forbidden');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, remote));
  }

  private accept(ws: WebSocket, req: IncomingMessage, remote: string): void {
    const c: Connection = {
      id: uuidv7(),
      ws,
      remote,
      alive: true,
      sessionToken: cookieValue(req.headers.cookie, SESSION_COOKIE),
    };
    this.connections.add(c);
    c.handshake = setTimeout(
      () => ws.close(WsClose.HandshakeTimeout, 'handshake timeout: send a connect request first'),
      this.config.PALISADE_GATEWAY_WS_HANDSHAKE_MS,
    );
    ws.on('pong', () => (c.alive = true));
    ws.on('close', () => {
      clearTimeout(c.handshake);
      this.connections.delete(c);
    });
    ws.on('error', () => undefined);
    // Frames are handled one at a time per connection, in order.
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      c.alive = true;
      queue = queue
        .then(() => this.onFrame(c, data as Buffer, isBinary))
        .catch((error: Error) => {
          this.logger.error(`WebSocket frame handling failed: ${error.message}`);
          ws.close(1011, 'internal error');
        });
    });
  }

  private send(c: Connection, frame: ResponseFrame): void {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(frame));
  }

  private fail(c: Connection, id: string, code: string, message: string): void {
    this.send(c, { type: 'res', id, ok: false, error: { code, message } });
  }

  private async onFrame(c: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (isBinary)
      return c.ws.close(WsClose.UnsupportedData, 'binary frames are not supported: send JSON text');
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString('utf8'));
    } catch {
      return c.ws.close(WsClose.BadFrame, 'bad frame: not JSON');
    }
    const frame = await validated(RequestFrame, parsed);
    if (!frame.value)
      return c.ws.close(WsClose.BadFrame, `bad frame: ${frame.problems!.join('; ')}`.slice(0, 120));
    const req = frame.value;
    if (!c.principal) return this.handshake(c, req);
    if (req.method === 'connect')
      return this.fail(c, req.id, 'already_connected', 'this connection is already authenticated');
    return this.request(c, c.principal, req);
  }

  private async handshake(c: Connection, req: RequestFrame): Promise<void> {
    if (req.method !== 'connect')
      return c.ws.close(WsClose.Unauthorized, 'the first frame must be a connect request');
    const params = await validated(ConnectParams, req.params ?? {});
    if (!params.value)
      return c.ws.close(WsClose.BadFrame, `bad connect: ${params.problems!.join('; ')}`.slice(0, 120));
    const auth = params.value.auth;
    const refuse = (message: string, code: number = WsClose.Unauthorized) => {
      this.fail(c, req.id, code === WsClose.TooManyAttempts ? 'rate_limited' : 'unauthorized', message);
      c.ws.close(code, message.slice(0, 120));
    };
    if (!(await this.operator.isPasswordSet())) return refuse('no operator password yet: onboarding first');
    if (auth?.api_key !== undefined && auth.password !== undefined)
      return refuse('give either api_key or password, not both');

    let principal: Principal | undefined;
    try {
      if (auth?.api_key !== undefined) {
        const check = await this.keys.authenticate(auth.api_key);
        if (check.ok) principal = check.principal;
        else {
          await this.operator.assertNotLocked(c.remote);
          await this.operator.recordFailure(
            c.remote,
            'apikey',
            check.reason === 'revoked' ? 'revoked API key' : 'unknown or wrong API key',
          );
          return refuse('invalid API key');
        }
      } else if (auth?.password !== undefined) {
        principal = await this.operator.verifyOperatorPassword(auth.password, c.remote);
      } else if (c.sessionToken) {
        principal = await this.operator.validateSession(c.sessionToken);
        if (!principal) return refuse('session expired or invalid: log in again');
      } else {
        return refuse('connect needs auth: {api_key} or {password}');
      }
    } catch (error) {
      if (error instanceof HttpException && error.getStatus() === 429)
        return refuse('too many failed attempts from this address', WsClose.TooManyAttempts);
      if (error instanceof HttpException && error.getStatus() === 401) return refuse('wrong password');
      throw error;
    }
    clearTimeout(c.handshake);
    c.principal = principal;
    this.send(c, {
      type: 'res',
      id: req.id,
      ok: true,
      payload: {
        type: 'hello-ok',
        protocol: WS_PROTOCOL_VERSION,
        connectionId: c.id,
        principal: { type: principal.type, id: principal.id },
        scopes: principal.scopes,
        limits: {
          maxFrameBytes: this.config.PALISADE_GATEWAY_WS_MAX_FRAME_BYTES,
          pingIntervalMs: this.config.PALISADE_GATEWAY_WS_PING_SECONDS * 1000,
        },
      },
    });
  }

  private async request(c: Connection, principal: Principal, req: RequestFrame): Promise<void> {
    // The key or session may have ended since the handshake.
    if (principal.type === 'apikey' && !(await this.keys.isActive(principal.id))) {
      this.connections.delete(c);
      return c.ws.close(WsClose.Revoked, 'API key revoked');
    }
    if (principal.sessionId && !(await this.operator.validateSession(c.sessionToken))) {
      return c.ws.close(WsClose.Unauthorized, 'session expired: log in again');
    }
    const wait = this.limiter.take(`${principal.type}:${principal.sessionId ?? principal.id}`);
    if (wait) return this.fail(c, req.id, 'rate_limited', `rate limit reached; try again in ${wait} s`);
    const method = this.registry.get(req.method);
    if (!method) return this.fail(c, req.id, 'unknown_method', `no method ${req.method}`);
    if (method.access.kind === 'scope' && !principalHolds(principal, method.access.scope)) {
      await this.audit.record(
        'auth.scope.denied',
        {
          required: method.access.scope,
          operation: `ws ${method.name}`,
          ...(principal.type === 'apikey' ? { keyId: principal.id } : {}),
        },
        actorOf(principal),
        'trusted',
      );
      return this.fail(c, req.id, 'forbidden', `${method.name} needs the ${method.access.scope} scope`);
    }
    if (method.mutates) {
      const frozen = await this.freeze.current().then(
        (s) => s.frozen,
        () => true,
      );
      if (frozen) return this.fail(c, req.id, 'frozen', 'the agent is frozen');
    }
    let params: unknown = req.params ?? {};
    if (method.params) {
      const checked = await validated(method.params, params);
      if (!checked.value) return this.fail(c, req.id, 'invalid_params', checked.problems!.join('; '));
      params = checked.value;
    }
    try {
      const payload = await method.handler(params, { principal, connectionId: c.id, remote: c.remote });
      this.send(c, { type: 'res', id: req.id, ok: true, payload: payload ?? null });
    } catch (error) {
      if (error instanceof RpcError) return this.fail(c, req.id, error.code, error.message);
      if (error instanceof HttpException)
        return this.fail(c, req.id, `http_${error.getStatus()}`, error.message);
      this.logger.error(`ws method ${method.name} failed: ${(error as Error).message}`);
      this.fail(c, req.id, 'internal', 'internal error');
    }
  }

  private ping(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.ws.terminate();
        this.connections.delete(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
