// Test and benchmark helpers: an HTTPS client that can pick its source address (to look like another
// machine or another attacker), and a WebSocket client speaking the gateway protocol.
import { request } from 'node:https';
import { WebSocket } from 'ws';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CallOptions {
  method?: string;
  key?: string;
  cookie?: string;
  origin?: string;
  host?: string;
  body?: unknown;
  /** Raw body bytes (sent as JSON content type unless contentType says otherwise). */
  raw?: string | Buffer;
  localAddress?: string;
  headers?: Record<string, string>;
}

export class GatewayClient {
  constructor(
    readonly port: number,
    readonly ca: string,
  ) {}

  get base(): string {
    return `https://localhost:${this.port}`;
  }

  call(path: string, o: CallOptions = {}): Promise<HttpResult> {
    const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    if (o.cookie) headers.cookie = o.cookie;
    if (o.origin) headers.origin = o.origin;
    // What a browser sends for https://localhost:<port> (the test connects to 127.0.0.1 underneath).
    headers.host = o.host ?? `localhost:${this.port}`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: this.port,
          path,
          method: o.method ?? (body !== undefined ? 'POST' : 'GET'),
          headers,
          ca: this.ca,
          localAddress: o.localAddress,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** The session cookie (name=value) from a login/onboarding response. */
  static cookieOf(res: HttpResult): string {
    const set = [res.headers['set-cookie'] ?? []].flat()[0] ?? '';
    return set.split(';')[0];
  }

  ws(o: { origin?: string; cookie?: string; localAddress?: string; autoPong?: boolean } = {}): WsClient {
    const headers: Record<string, string> = {};
    if (o.origin) headers.origin = o.origin;
    if (o.cookie) headers.cookie = o.cookie;
    const ws = new WebSocket(`wss://localhost:${this.port}/api/ws`, {
      ca: this.ca,
      headers,
      localAddress: o.localAddress,
      autoPong: o.autoPong ?? true,
    });
    return new WsClient(ws);
  }
}

export interface Frame {
  type: string;
  id?: string;
  ok?: boolean;
  payload?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  error?: { code: string; message: string };
  event?: string;
  seq?: number;
}

export class WsClient {
  private readonly frames: Frame[] = [];
  private waiters: ((f: Frame) => void)[] = [];
  private n = 0;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Set when the upgrade was answered with an HTTP status instead of 101. */
  rejectedWith?: number;

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        this.rejectedWith = res.statusCode;
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
      ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
  }

  next(timeoutMs = 5_000): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error('no frame within timeout'));
      }, timeoutMs);
      const done = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push(done);
    });
  }

  async request(method: string, params?: unknown): Promise<Frame> {
    const id = `r${++this.n}`;
    this.ws.send(JSON.stringify({ type: 'req', id, method, ...(params === undefined ? {} : { params }) }));
    for (;;) {
      const f = await this.next();
      if (f.type === 'res' && f.id === id) return f;
    }
  }

  connect(auth?: { api_key?: string; password?: string }): Promise<Frame> {
    return this.request('connect', {
      client: { id: 'test-client', version: '1.0.0' },
      ...(auth ? { auth } : {}),
    });
  }

  close(): void {
    this.ws.close();
  }
}
