import http from 'node:http';
import https from 'node:https';
import { PASSWORDS_API_PATH, PasswordsStandin, type PasswordsAddress } from './passwords.standin';
import { phpCrc32 } from './php-json';

const USER = 'palisade-agent';
const APP_PASSWORD = 'Abcde-Fghij-Klmno-Pqrst-Uvwxy';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: unknown;
}

/** One API call; `plain` goes to the plain-HTTP listener. */
function call(
  addr: PasswordsAddress,
  method: string,
  endpoint: string,
  body?: unknown,
  opts: {
    user?: string;
    password?: string | null;
    session?: string;
    plain?: boolean;
    ca?: string | null;
    host?: string;
  } = {},
): Promise<Res> {
  const base = opts.plain ? (addr.plainUrl as string) : addr.url;
  const u = new URL(base + PASSWORDS_API_PATH + endpoint);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.password !== null) {
    headers.Authorization =
      'Basic ' + Buffer.from(`${opts.user ?? USER}:${opts.password ?? APP_PASSWORD}`).toString('base64');
  }
  if (payload) headers['Content-Type'] = 'application/json';
  if (opts.session) headers['X-API-SESSION'] = opts.session;
  const lib = opts.plain ? http : https;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      {
        hostname: opts.host ?? u.hostname,
        port: u.port,
        path: u.pathname,
        method,
        headers,
        ...(opts.plain
          ? {}
          : opts.ca === null
            ? {}
            : {
                ca: opts.ca ?? addr.caCert,
                servername: opts.host === 'localhost' ? 'localhost' : undefined,
              }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('PasswordsStandin', () => {
  let pw: PasswordsStandin;
  let addr: PasswordsAddress;
  let mailId: string;
  let hiddenId: string;
  let sharedId: string;

  beforeAll(async () => {
    pw = new PasswordsStandin({ user: USER, appPassword: APP_PASSWORD, plainHttp: true });
    mailId = pw.addEntry({
      label: 'Mail server',
      username: 'agent@example.org',
      password: 's3cr3t/<pw>',
      url: 'https://mail.example.org',
      notes: 'IMAP',
      customFields: [{ label: 'PIN', type: 'secret', value: '1234' }],
      favorite: true,
    });
    hiddenId = pw.addEntry({ label: 'Hidden', password: 'h', hidden: true });
    pw.addEntry({ label: 'Old', password: 'o', trashed: true });
    sharedId = pw.addEntry({ label: 'Shared by Bob', password: 'bob-pw', share: 'share-uuid-1' });
    addr = await pw.start();
  });

  afterAll(async () => {
    await pw.stop();
  });

  beforeEach(() => {
    pw.clearRecords();
    pw.enableAccount();
  });

  it('serves HTTPS with a certificate for 127.0.0.1 and localhost signed by its test CA', async () => {
    expect(addr.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(addr.caCert).toContain('BEGIN CERTIFICATE');
    expect((await call(addr, 'GET', 'session/request')).status).toBe(200);
    expect((await call(addr, 'GET', 'session/request', undefined, { host: 'localhost' })).status).toBe(200);
    await expect(call(addr, 'GET', 'session/request', undefined, { ca: null })).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('refuses plain HTTP with the app\'s "HTTPS required"', async () => {
    const res = await call(addr, 'POST', 'password/show', { id: mailId }, { plain: true });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ status: 'error', id: phpCrc32('HTTPS required'), message: 'HTTPS required' });
    expect(pw.requests[0]).toMatchObject({
      secure: false,
      endpoint: 'password/show',
      authUser: USER,
      status: 400,
    });
  });

  it('answers 401 to a wrong app password, another user or no credentials', async () => {
    for (const opts of [{ password: 'wrong' }, { user: 'admin' }, { password: null }]) {
      const res = await call(addr, 'POST', 'password/show', { id: mailId }, opts);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ message: 'Current user is not logged in' });
    }
    expect(pw.requests.map((r) => [r.authUser, r.authenticated])).toEqual([
      [USER, false],
      ['admin', false],
      [undefined, false],
    ]);
  });

  it('opens and closes a session without a master password (empty keys, X-API-SESSION header)', async () => {
    const req = await call(addr, 'GET', 'session/request');
    expect(req.json).toEqual({});
    const session = req.headers['x-api-session'] as string;
    expect(session).toMatch(/^[0-9a-f]{48}$/);
    const open = await call(addr, 'POST', 'session/open', {}, { session });
    expect(open.json).toEqual({ success: true, keys: [] });
    expect(open.headers['x-api-session']).toBe(session);
    expect((await call(addr, 'GET', 'session/close', undefined, { session })).json).toEqual({
      success: true,
    });
  });

  it('password/show returns exactly one entry with its secret; the records prove one show and no list', async () => {
    const res = await call(addr, 'POST', 'password/show', { id: mailId });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: mailId,
      label: 'Mail server',
      username: 'agent@example.org',
      password: 's3cr3t/<pw>',
      url: 'https://mail.example.org',
      notes: 'IMAP',
      customFields: JSON.stringify([{ label: 'PIN', type: 'secret', value: '1234' }]),
      share: null,
      shared: false,
      hidden: false,
      trashed: false,
      favorite: true,
      cseType: 'none',
      hash: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(pw.requestsTo('password/show')).toHaveLength(1);
    expect(pw.requestsTo('password/show')[0]).toMatchObject({
      body: { id: mailId },
      authUser: USER,
      authenticated: true,
      secure: true,
    });
    expect(pw.requestsTo('password/list')).toHaveLength(0);
  });

  it('password/show: 404 for an unknown id, hidden entries are reachable, a missing id is a 400', async () => {
    const missing = await call(addr, 'POST', 'password/show', { id: '11111111-2222-3333-4444-555555555555' });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ status: 'error', id: 404, message: 'Resource not found' });
    expect((await call(addr, 'POST', 'password/show', { id: hiddenId })).json).toMatchObject({
      label: 'Hidden',
      hidden: true,
    });
    expect((await call(addr, 'POST', 'password/show', {})).status).toBe(400);
    expect((await call(addr, 'GET', 'password/show')).status).toBe(405);
  });

  it('password/find accepts only metadata criteria: 400 for label or unknown fields and operators', async () => {
    const byLabel = await call(addr, 'POST', 'password/find', { criteria: { label: 'Mail server' } });
    expect(byLabel.status).toBe(400);
    expect(byLabel.json).toEqual({
      status: 'error',
      id: phpCrc32('Illegal field in search criteria: label'),
      message: 'Illegal field in search criteria: label',
    });
    expect((await call(addr, 'POST', 'password/find', { criteria: { nonsense: 1 } })).status).toBe(400);
    expect((await call(addr, 'POST', 'password/find', { criteria: { created: ['like', 1] } })).status).toBe(
      400,
    );

    const fav = await call(addr, 'POST', 'password/find', { criteria: { favorite: true } });
    expect((fav.json as Array<{ id: string }>).map((e) => e.id)).toEqual([mailId]);
    const trashed = await call(addr, 'POST', 'password/find', { criteria: { trashed: 'true' } });
    expect((trashed.json as Array<{ label: string }>).map((e) => e.label)).toEqual(['Old']);
    const recent = await call(addr, 'POST', 'password/find', { criteria: { created: ['gte', 0] } });
    expect((recent.json as unknown[]).length).toBe(2);
  });

  it('password/list returns every visible entry with its secret (not hidden, not trashed)', async () => {
    const res = await call(addr, 'GET', 'password/list');
    expect(res.status).toBe(200);
    const list = res.json as Array<{ label: string; password: string }>;
    expect(list.map((e) => [e.label, e.password])).toEqual([
      ['Mail server', 's3cr3t/<pw>'],
      ['Shared by Bob', 'bob-pw'],
    ]);
    expect((await call(addr, 'POST', 'password/list')).status).toBe(200);
    expect(pw.requestsTo('password/list')).toHaveLength(2);
  });

  it('escapes JSON like PHP (JSON_HEX_TAG, "\\/")', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          hostname: '127.0.0.1',
          port: addr.port,
          path: PASSWORDS_API_PATH + 'password/show',
          method: 'POST',
          ca: addr.caCert,
          headers: {
            'Content-Type': 'application/json',
            Authorization: 'Basic ' + Buffer.from(`${USER}:${APP_PASSWORD}`).toString('base64'),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ id: mailId }));
    });
    expect(raw).toContain('"password":"s3cr3t\\/\\u003Cpw\\u003E"');
  });

  it('a disabled account gets 401 on everything', async () => {
    pw.disableAccount();
    expect((await call(addr, 'POST', 'password/show', { id: mailId })).status).toBe(401);
    expect((await call(addr, 'GET', 'password/list')).status).toBe(401);
    expect((await call(addr, 'GET', 'session/request')).status).toBe(401);
    pw.enableAccount();
    expect((await call(addr, 'POST', 'password/show', { id: mailId })).status).toBe(200);
  });

  it('unsharing revokes one entry at once (404 by default, 403 when asked) and hides it from list', async () => {
    expect((await call(addr, 'POST', 'password/show', { id: sharedId })).status).toBe(200);
    pw.unshare(sharedId);
    expect((await call(addr, 'POST', 'password/show', { id: sharedId })).status).toBe(404);
    const list = (await call(addr, 'GET', 'password/list')).json as Array<{ id: string }>;
    expect(list.map((e) => e.id)).not.toContain(sharedId);
    pw.unshare(sharedId, 403);
    const denied = await call(addr, 'POST', 'password/show', { id: sharedId });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ status: 'error', message: 'Access denied' });
    expect((await call(addr, 'POST', 'password/show', { id: mailId })).status).toBe(200);
  });

  it('never crashes on bad input', async () => {
    const bad = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          hostname: '127.0.0.1',
          port: addr.port,
          path: PASSWORDS_API_PATH + 'password/show',
          method: 'POST',
          ca: addr.caCert,
          headers: {
            'Content-Type': 'application/json',
            Authorization: 'Basic ' + Buffer.from(`${USER}:${APP_PASSWORD}`).toString('base64'),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{broken');
    });
    expect(bad).toBe(400);
    expect((await call(addr, 'POST', 'password/find', { criteria: 'label=x' })).status).toBe(400);
    expect((await call(addr, 'GET', 'nope')).status).toBe(404);
    expect((await call(addr, 'POST', 'password/show', { id: mailId })).status).toBe(200);
  });

  it('with a master password (requireSession) calls need an opened session (412 otherwise)', async () => {
    const locked = new PasswordsStandin({
      user: USER,
      appPassword: APP_PASSWORD,
      requireSession: true,
      entries: [{ id: 'e1', label: 'x', password: 'p' }],
    });
    const a = await locked.start();
    try {
      const refused = await call(a, 'POST', 'password/show', { id: 'e1' });
      expect(refused.status).toBe(412);
      expect(refused.json).toEqual({
        status: 'error',
        id: phpCrc32('Session required'),
        message: 'Session required',
      });
      const session = (await call(a, 'GET', 'session/request')).headers['x-api-session'] as string;
      await call(a, 'POST', 'session/open', {}, { session });
      expect((await call(a, 'POST', 'password/show', { id: 'e1' }, { session })).json).toMatchObject({
        password: 'p',
      });
    } finally {
      await locked.stop();
    }
  });
});

describe('PasswordsStandin scripting', () => {
  it('goes down (connection refused) and comes back on the same port with the same certificate', async () => {
    const pw = new PasswordsStandin({ user: USER, appPassword: APP_PASSWORD });
    const before = await pw.start();
    try {
      await pw.setDown(true);
      expect(pw.isDown).toBe(true);
      await expect(call(before, 'GET', 'session/request')).rejects.toThrow(/ECONNREFUSED/);
      await pw.setDown(false);
      expect(pw.address()).toMatchObject({ port: before.port, caCert: before.caCert });
      expect((await call(before, 'GET', 'session/request')).status).toBe(200);
    } finally {
      await pw.stop();
    }
  });

  it('lets a test answer a request its own way, after authentication', async () => {
    const pw = new PasswordsStandin({
      user: USER,
      appPassword: APP_PASSWORD,
      entries: [{ id: 'e1', label: 'x', password: 'p' }],
    });
    const a = await pw.start();
    try {
      pw.setHandler((r) =>
        r.endpoint === 'password/show' ? { status: 503, body: { message: 'Maintenance' } } : undefined,
      );
      expect((await call(a, 'POST', 'password/show', { id: 'e1' })).status).toBe(503);
      expect((await call(a, 'POST', 'password/show', { id: 'e1' }, { password: 'wrong' })).status).toBe(401);
      expect((await call(a, 'GET', 'session/request')).status).toBe(200);
      pw.setHandler(undefined);
      expect((await call(a, 'POST', 'password/show', { id: 'e1' })).json).toMatchObject({ password: 'p' });
    } finally {
      await pw.stop();
    }
  });
});

describe('phpCrc32', () => {
  it("matches PHP's hash('crc32') (the Passwords app's error ids)", () => {
    expect(phpCrc32('123456789')).toBe('181989fc');
    // SessionApiController compares this id for 'Password invalid'.
    expect(phpCrc32('Password invalid')).toBe('a361c427');
  });
});
