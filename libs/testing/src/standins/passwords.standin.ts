// Protocol-faithful stand-in for the Nextcloud Passwords app API (behaviour as measured against
// Passwords 2025.12 on Nextcloud 32). Test infrastructure only: production code never imports this.
//
// Base <url>/index.php/apps/passwords/api/1.0/ over HTTPS (a throw-away test CA is made when no
// certificate is given). The order of checks is Nextcloud's: HTTP Basic auth with the app password
// (401 {"message":"Current user is not logged in"}, also for a disabled account) → the app's
// ApiSecurityMiddleware ("HTTPS required", 400, when the request came over plain HTTP) → the app's
// session middleware (412 "Session required" only when `requireSession`, i.e. a master password) →
// the controller. App errors are {"status":"error","id":<PHP crc32 of the message>,"message":...}.
// An optional plain-HTTP listener on the same data exists only to show the HTTPS refusal.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from '../tls/test-ca';
import {
  DEFAULT_MAX_BODY_BYTES,
  closeServer,
  headerValue,
  isPlainObject,
  listen,
  nextcloudParams,
  readBody,
  send,
  type StandinAddress,
} from './http-util';
import { phpCrc32, phpJsonEncode } from './php-json';

export const PASSWORDS_API_PATH = '/index.php/apps/passwords/api/1.0/';
const API_PREFIXES = [PASSWORDS_API_PATH, '/apps/passwords/api/1.0/'];
const BASE_FOLDER = '00000000-0000-0000-0000-000000000000';

/** Fields password/find accepts (PasswordApiController::$allowedFilterFields). */
export const PASSWORDS_FIND_FIELDS = [
  'created',
  'updated',
  'edited',
  'cseType',
  'sseType',
  'status',
  'trashed',
  'favorite',
] as const;
const FIND_OPERATORS = ['eq', 'ne', 'lt', 'gt', 'lte', 'gte'];

export interface PasswordsCustomField {
  label: string;
  type: 'text' | 'secret' | 'email' | 'url' | 'file' | 'data';
  value: string;
}

export interface PasswordsEntryInput {
  id?: string;
  label: string;
  username?: string;
  password: string;
  url?: string;
  notes?: string;
  customFields?: PasswordsCustomField[];
  folder?: string;
  hidden?: boolean;
  trashed?: boolean;
  favorite?: boolean;
  /** Id of the share this entry was received through (entries shared *to* the agent). */
  share?: string | null;
  /** The entry is shared by its owner with others. */
  shared?: boolean;
  /** 0 good, 1 outdated/weak, 2 breached */
  status?: 0 | 1 | 2;
  statusCode?: 'GOOD' | 'OUTDATED' | 'DUPLICATE' | 'BREACHED' | 'NOT_CHECKED';
  editable?: boolean;
  created?: number;
  updated?: number;
  edited?: number;
}

export interface PasswordsEntry extends Required<Omit<PasswordsEntryInput, 'share'>> {
  share: string | null;
  revision: string;
  /** Set by unshare(): the entry answers this status from now on. */
  revoked?: 403 | 404;
}

export interface PasswordsStandinOptions {
  /** The agent account's user id (login name). */
  user: string;
  /** Its app password. */
  appPassword: string;
  entries?: PasswordsEntryInput[];
  /** Certificate and key (PEM) to serve; when absent a test CA is created in `certDir` or a temp dir. */
  tls?: { cert: string | Buffer; key: string | Buffer; caCert?: string };
  certDir?: string;
  port?: number;
  /** Also listen on plain HTTP (to show the refusal). true or the port to use. */
  plainHttp?: boolean | { port?: number };
  /** Behave like an account with a master password: API calls need an opened X-API-SESSION (412 otherwise). */
  requireSession?: boolean;
  maxBodyBytes?: number;
}

export interface PasswordsRecordedRequest {
  method: string;
  path: string;
  /** e.g. "password/show"; "" outside the API. */
  endpoint: string;
  secure: boolean;
  /** User name claimed in the Authorization header (even when the password was wrong). */
  authUser?: string;
  authenticated: boolean;
  session?: string;
  /** Parsed parameters (query + JSON/form body). */
  body: unknown;
  status: number;
  receivedAt: number;
}

export interface PasswordsAddress extends StandinAddress {
  /** API base: <url>/index.php/apps/passwords/api/1.0/ */
  apiBase: string;
  /** PEM of the CA that signed the server certificate (when known). */
  caCert?: string;
  plainUrl?: string;
  plainPort?: number;
}

type Handler = (ctx: Ctx) => { status: number; data: unknown };

/** What a scripted handler sees and answers (status plus a JSON body). */
export type PasswordsHandler = (request: {
  endpoint: string;
  method: string;
  params: Record<string, unknown>;
  session?: string;
}) => { status: number; body: unknown } | undefined;
interface Ctx {
  params: Record<string, unknown>;
  session: string;
}

function apiError(status: number, message: string, id: string | number = phpCrc32(message)) {
  return { status, data: { status: 'error', id, message } };
}

export class PasswordsStandin {
  private server?: https.Server;
  private plainServer?: http.Server;
  private port: number;
  private plainPort: number;
  private baseUrl = '';
  private plainBaseUrl?: string;
  private caCert?: string;
  private tempDir?: string;
  private accountEnabled = true;
  private down = false;
  private generatedTls?: { cert: string | Buffer; key: string | Buffer; caCert?: string };
  private handler?: PasswordsHandler;
  private readonly entries = new Map<string, PasswordsEntry>();
  private readonly sessions = new Map<string, { authorized: boolean }>();
  private readonly routes: Record<string, { methods: string[]; handler: Handler }>;

  readonly requests: PasswordsRecordedRequest[] = [];

  constructor(private readonly options: PasswordsStandinOptions) {
    this.port = options.port ?? 0;
    this.plainPort = typeof options.plainHttp === 'object' ? (options.plainHttp.port ?? 0) : 0;
    for (const e of options.entries ?? []) this.addEntry(e);
    this.routes = {
      'session/request': { methods: ['GET'], handler: () => ({ status: 200, data: {} }) },
      'session/open': {
        methods: ['POST'],
        handler: (ctx) => {
          this.sessions.set(ctx.session, { authorized: true });
          return { status: 200, data: { success: true, keys: [] } };
        },
      },
      'session/close': {
        methods: ['GET'],
        handler: (ctx) => {
          this.sessions.delete(ctx.session);
          return { status: 200, data: { success: true } };
        },
      },
      'session/keepalive': { methods: ['GET'], handler: () => ({ status: 200, data: { success: true } }) },
      'password/list': {
        methods: ['GET', 'POST'],
        handler: (ctx) => ({
          status: 200,
          data: this.visible()
            .filter((e) => !e.hidden && !e.trashed)
            .map((e) => this.apiObject(e, ctx.params.details)),
        }),
      },
      'password/find': { methods: ['POST'], handler: (ctx) => this.find(ctx) },
      'password/show': { methods: ['POST'], handler: (ctx) => this.show(ctx) },
    };
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<PasswordsAddress> {
    this.down = false;
    if (!this.server) {
      // The same certificate across setDown/up, so a client's CA file stays valid.
      let tls = this.options.tls ?? this.generatedTls;
      if (!tls) {
        const dir =
          this.options.certDir ?? (this.tempDir = await mkdtemp(join(tmpdir(), 'palisade-passwords-ca-')));
        const ca = await createTestCa(dir);
        tls = { cert: ca.cert, key: ca.key, caCert: ca.caCert };
        this.generatedTls = tls;
      }
      this.caCert = tls.caCert;
      const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) =>
        this.dispatch(req, res, true),
      );
      server.keepAliveTimeout = 60_000;
      this.port = await listen(server, this.port);
      this.server = server;
      this.baseUrl = `https://127.0.0.1:${this.port}`;
    }
    if (this.options.plainHttp && !this.plainServer) {
      const plain = http.createServer((req, res) => this.dispatch(req, res, false));
      this.plainPort = await listen(plain, this.plainPort);
      this.plainServer = plain;
      this.plainBaseUrl = `http://127.0.0.1:${this.plainPort}`;
    }
    return this.address();
  }

  async stop(): Promise<void> {
    await Promise.all([closeServer(this.server), closeServer(this.plainServer)]);
    this.server = undefined;
    this.plainServer = undefined;
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }

  /**
   * true: stop listening and drop every connection (clients get ECONNREFUSED); false: listen again on
   * the same port with the same certificate and data.
   */
  async setDown(down: boolean): Promise<void> {
    if (down) {
      this.down = true;
      await Promise.all([closeServer(this.server), closeServer(this.plainServer)]);
      this.server = undefined;
      this.plainServer = undefined;
      return;
    }
    await this.start();
  }

  get isDown(): boolean {
    return this.down;
  }

  /**
   * Per-test override: a function from the request (after authentication and the HTTPS check) to the
   * reply; return undefined to let the normal API answer. undefined removes it.
   */
  setHandler(handler: PasswordsHandler | undefined): void {
    this.handler = handler;
  }

  address(): PasswordsAddress {
    return {
      url: this.baseUrl,
      port: this.port,
      apiBase: this.baseUrl + PASSWORDS_API_PATH,
      caCert: this.caCert,
      plainUrl: this.plainBaseUrl,
      plainPort: this.plainBaseUrl ? this.plainPort : undefined,
    };
  }

  get url(): string {
    return this.baseUrl;
  }

  get apiBase(): string {
    return this.baseUrl + PASSWORDS_API_PATH;
  }

  // ---------------------------------------------------------------- data and revocation

  addEntry(input: PasswordsEntryInput): string {
    const now = Math.floor(Date.now() / 1000);
    const id = input.id ?? randomUUID();
    this.entries.set(id, {
      id,
      label: input.label,
      username: input.username ?? '',
      password: input.password,
      url: input.url ?? '',
      notes: input.notes ?? '',
      customFields: input.customFields ?? [],
      folder: input.folder ?? BASE_FOLDER,
      hidden: input.hidden ?? false,
      trashed: input.trashed ?? false,
      favorite: input.favorite ?? false,
      share: input.share ?? null,
      shared: input.shared ?? false,
      status: input.status ?? 0,
      statusCode: input.statusCode ?? 'GOOD',
      editable: input.editable ?? true,
      created: input.created ?? now,
      updated: input.updated ?? now,
      edited: input.edited ?? now,
      revision: randomUUID(),
    });
    return id;
  }

  entry(id: string): PasswordsEntry | undefined {
    return this.entries.get(id);
  }

  /** Change an entry (e.g. rotate its password); bumps updated/edited and the revision. */
  updateEntry(id: string, patch: Partial<PasswordsEntryInput>): void {
    const e = this.entries.get(id);
    if (!e) throw new Error(`PasswordsStandin: unknown entry ${id}`);
    const now = Math.floor(Date.now() / 1000);
    Object.assign(e, patch, { updated: now, edited: now, revision: randomUUID() });
  }

  /** The agent's Nextcloud account is disabled: every request answers 401. */
  disableAccount(): void {
    this.accountEnabled = false;
  }

  enableAccount(): void {
    this.accountEnabled = true;
  }

  /** The owner removed the share: the entry vanishes (404, default) or access is denied (403). */
  unshare(id: string, status: 403 | 404 = 404): void {
    const e = this.entries.get(id);
    if (!e) throw new Error(`PasswordsStandin: unknown entry ${id}`);
    e.revoked = status;
  }

  requestsTo(endpoint: string): PasswordsRecordedRequest[] {
    return this.requests.filter((r) => r.endpoint === endpoint);
  }

  clearRecords(): void {
    this.requests.length = 0;
  }

  // ---------------------------------------------------------------- HTTP

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean): void {
    this.handle(req, res, secure).catch(() => {
      if (!res.headersSent) send(res, 500, '', 'text/plain');
      else res.destroy();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const prefix = API_PREFIXES.find((p) => url.pathname.startsWith(p));
    const endpoint = prefix ? url.pathname.slice(prefix.length).replace(/\/+$/, '') : '';
    const rec: PasswordsRecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      endpoint,
      secure,
      authenticated: false,
      session: headerValue(req, 'x-api-session'),
      body: undefined,
      status: 0,
      receivedAt: Date.now(),
    };
    const reply = (status: number, data: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      this.requests.push(rec);
      if (this.requests.length > 10_000) this.requests.shift();
      send(res, status, phpJsonEncode(data, { hexTag: true }), 'application/json; charset=utf-8', headers);
    };

    const read = await readBody(req, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (!read.ok) {
      if (read.reason === 'too-large') reply(413, { message: 'Request body too large' });
      return;
    }
    const params = nextcloudParams(req, url, read.body);
    rec.body = params;

    // Nextcloud core: HTTP Basic login with the app password; a disabled account cannot log in.
    const auth = this.basicAuth(req);
    rec.authUser = auth?.user;
    rec.authenticated =
      this.accountEnabled &&
      auth !== undefined &&
      auth.user === this.options.user &&
      auth.password === this.options.appPassword;
    if (!prefix) {
      rec.status = 404;
      this.requests.push(rec);
      send(res, 404, '<!DOCTYPE html><html><body>Page not found</body></html>', 'text/html; charset=utf-8');
      return;
    }
    const route = this.routes[endpoint];
    if (!route) {
      rec.status = 404;
      this.requests.push(rec);
      send(res, 404, '<!DOCTYPE html><html><body>Page not found</body></html>', 'text/html; charset=utf-8');
      return;
    }
    if (!route.methods.includes(req.method ?? '')) {
      reply(405, { message: 'Method not allowed' });
      return;
    }
    if (!rec.authenticated) {
      reply(401, { message: 'Current user is not logged in' });
      return;
    }
    // ApiSecurityMiddleware
    if (!secure) {
      const e = apiError(400, 'HTTPS required');
      reply(e.status, e.data);
      return;
    }
    if (!params) {
      const e = apiError(400, 'Invalid request body');
      reply(e.status, e.data);
      return;
    }
    const scripted = this.handler?.({ endpoint, method: req.method ?? '', params, session: rec.session });
    if (scripted) {
      reply(scripted.status, scripted.body);
      return;
    }
    // ApiSessionMiddleware: load or create the session named by X-API-SESSION.
    let session = rec.session;
    if (!session || !this.sessions.has(session)) {
      session = randomBytes(24).toString('hex');
      this.sessions.set(session, { authorized: false });
    }
    const exempt = endpoint === 'session/request' || endpoint === 'session/open';
    if (this.options.requireSession && !exempt && !this.sessions.get(session)?.authorized) {
      const e = apiError(412, 'Session required');
      reply(e.status, e.data);
      return;
    }
    const result = route.handler({ params, session });
    const ok = result.status >= 200 && result.status < 300;
    reply(result.status, result.data, ok && endpoint !== 'session/close' ? { 'X-API-SESSION': session } : {});
  }

  private basicAuth(req: http.IncomingMessage): { user: string; password: string } | undefined {
    const h = headerValue(req, 'authorization');
    if (!h || !/^basic /i.test(h)) return undefined;
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }

  // ---------------------------------------------------------------- controllers

  private visible(): PasswordsEntry[] {
    return [...this.entries.values()].filter((e) => e.revoked === undefined);
  }

  private show(ctx: Ctx): { status: number; data: unknown } {
    const id = ctx.params.id;
    if (typeof id !== 'string' || id === '') return apiError(400, 'Invalid id');
    const e = this.entries.get(id);
    if (!e || e.revoked === 404) return apiError(404, 'Resource not found', 404);
    if (e.revoked === 403) return apiError(403, 'Access denied');
    return { status: 200, data: this.apiObject(e, ctx.params.details) };
  }

  private find(ctx: Ctx): { status: number; data: unknown } {
    const criteria = ctx.params.criteria ?? {};
    if (!isPlainObject(criteria) && !(Array.isArray(criteria) && criteria.length === 0)) {
      return apiError(400, 'Invalid search criteria');
    }
    const filters: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(isPlainObject(criteria) ? criteria : {})) {
      if (!(PASSWORDS_FIND_FIELDS as readonly string[]).includes(key)) {
        return apiError(400, `Illegal field in search criteria: ${key}`);
      }
      let value = raw;
      if (value === 'true') value = true;
      else if (value === 'false') value = false;
      else if (Array.isArray(value) && !FIND_OPERATORS.includes(String(value[0]))) {
        return apiError(400, `Illegal operator in search criteria: ${String(value[0])}`);
      }
      filters[key] = value;
    }
    if (!('trashed' in filters)) filters.trashed = false;
    filters.hidden = false;
    const results = this.visible()
      .map((e) => this.apiObject(e, ctx.params.details))
      .filter((o) => Object.entries(filters).every(([k, f]) => matches(o[k], f)));
    return { status: 200, data: results };
  }

  private apiObject(e: PasswordsEntry, details: unknown): Record<string, unknown> {
    const levels = (typeof details === 'string' && details !== '' ? details : 'model').split('+');
    const obj: Record<string, unknown> = {};
    if (levels.includes('model')) {
      Object.assign(obj, {
        id: e.id,
        created: e.created,
        updated: e.updated,
        edited: e.edited,
        share: e.share,
        shared: e.shared,
        revision: e.revision,
        label: e.label,
        username: e.username,
        password: e.password,
        notes: e.notes,
        customFields: JSON.stringify(e.customFields),
        url: e.url,
        status: e.status,
        statusCode: e.statusCode,
        hash: createHash('sha1').update(e.password, 'utf8').digest('hex'),
        folder: e.folder,
        cseKey: '',
        cseType: 'none',
        sseType: 'SSEv1r2',
        client: '',
        hidden: e.hidden,
        trashed: e.trashed,
        favorite: e.favorite,
        editable: e.editable,
      });
    }
    if (levels.includes('folder')) {
      obj.folder = {
        id: e.folder,
        label: e.folder === BASE_FOLDER ? 'Home' : 'Folder',
        parent: BASE_FOLDER,
        hidden: false,
        trashed: false,
      };
    }
    if (levels.includes('tags')) obj.tags = [];
    if (levels.includes('shares')) obj.shares = [];
    if (levels.includes('revisions'))
      obj.revisions = [
        { id: e.revision, label: e.label, username: e.username, password: e.password, created: e.updated },
      ];
    return obj;
  }
}

function matches(actual: unknown, filter: unknown): boolean {
  if (Array.isArray(filter)) {
    const [op, value] = filter as [string, unknown];
    const a = Number(actual);
    const b = Number(value);
    switch (op) {
      case 'eq':
        return loose(actual, value);
      case 'ne':
        return !loose(actual, value);
      case 'lt':
        return a < b;
      case 'gt':
        return a > b;
      case 'lte':
        return a <= b;
      case 'gte':
        return a >= b;
      default:
        return false;
    }
  }
  return loose(actual, filter);
}

function loose(a: unknown, b: unknown): boolean {
  if (typeof a === 'boolean' || typeof b === 'boolean') return Boolean(a) === Boolean(b === '0' ? false : b);
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  return a === b;
}
