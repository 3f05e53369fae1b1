// The gateway's front door against the real nats-server and PostgreSQL, over real HTTPS and WSS:
// the gateway runs in this process (bootstrapService, as main.ts does) so the tests can enumerate its
// routes and methods; the CLI runs as its own process.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import {
  Body,
  Controller,
  Get,
  INestApplication,
  Injectable,
  Module,
  Param,
  Post,
  Put,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { IsString, MaxLength } from 'class-validator';
import { Client } from 'pg';
import { DEFAULT_AGENT_ID, type PalisadeEvent, Scope, SCOPES } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { bootstrapService, type RunningService } from '@palisade/nats';
import {
  connectAs,
  GatewayClient,
  type HttpResult,
  infraFacts,
  pgPasswordFileOf,
  repoRoot,
  serviceEnv,
  waitFor,
} from '@palisade/testing';
import { GatewayConfig } from '../gateway.config';
import { GatewayModule } from '../gateway.module';
import { gatewayListen } from '../http/gateway-tls';
import { TlsRenewal } from '../http/tls-renewal.service';
import { WsMethod, WsMethodRegistry } from '../ws/ws-methods';
import { WsGateway } from '../ws/ws.server';
import { WsClose } from '../ws/ws-protocol';
import { ApiKeyService } from './api-key.service';
import { Principal, RequireScope } from './auth.decorators';
import type { Principal as Caller } from './principal';
import { RouteCatalog, type RouteInfo } from './route-catalog.service';

const run = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const PROBE_BODY = { __matrix_probe__: true };
// Failed attempts count against the source address; probes with dead keys each come from their own
// loopback address so they never lock out the address the other tests use.
let probeCounter = 0;
const freshAddress = () => `127.0.1.${++probeCounter}`; // refused by every DTO: a guard that lets it through gets a 400, not an action

// --- test-only routes and methods (production routes belong to their own controllers) -------------
class DemoIdentityDto {
  @IsString() @MaxLength(64) name: string;
}

@Controller('test-demo')
class DemoController {
  @RequireScope(Scope.OperatorRead)
  @Get('status')
  status(@Principal() who: Caller) {
    return { who };
  }

  @RequireScope(Scope.OperatorApprovals)
  @Post('approvals/:id/decide')
  decide(@Param('id') id: string) {
    return { decided: id };
  }

  @RequireScope(Scope.OperatorWrite)
  @Put('identity')
  identity(@Body() body: DemoIdentityDto) {
    return { name: body.name };
  }

  @Get('undeclared')
  undeclared() {
    return { ok: true };
  }
}

@Injectable()
class DemoWsMethods {
  @RequireScope(Scope.OperatorApprovals)
  @WsMethod('demo.approvals.decide')
  decide() {
    return { decided: true };
  }

  @RequireScope(Scope.OperatorRead)
  @WsMethod('demo.status', { mutates: false })
  status() {
    return { ok: true };
  }

  @WsMethod('demo.undeclared', { mutates: false })
  undeclared() {
    return { ok: true };
  }
}

@Module({ imports: [GatewayModule], controllers: [DemoController], providers: [DemoWsMethods] })
class GatewayUnderTest {}

// --- harness ------------------------------------------------------------------------------------------
const nonLoopbackAddress = (): string | undefined =>
  Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

function pg(role: string): Client {
  const f = infraFacts();
  return new Client({
    host: f.pgHost,
    port: f.pgPort,
    database: f.pgDatabase,
    user: role,
    password: readFileSync(pgPasswordFileOf(role), 'utf8').trim(),
  });
}

const cli = (...args: string[]) =>
  run(process.execPath, [join(repoRoot(), 'bin', 'palisade.js'), ...args], { env: { ...process.env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

describe('gateway front door (real HTTPS/WSS, NATS, PostgreSQL)', () => {
  let gateway: RunningService;
  let client: GatewayClient;
  let admin: NatsConnection;
  let store: EventStore;
  let superuser: Client;
  let dataDir: string;
  let cookie: string;
  let adminKey: string;
  const origin = () => `https://localhost:${client.port}`;

  async function eventsSince(seq: number, type: string): Promise<PalisadeEvent[]> {
    const out: PalisadeEvent[] = [];
    for (let s = seq + 1; ;) {
      const next = await store.nextOnSubject('evt.>', s);
      if (!next) return out;
      if (next.event.type === type) out.push(next.event);
      s = next.seq + 1;
    }
  }

  async function newKey(label: string, scopes: Scope[] | 'full'): Promise<{ id: string; secret: string }> {
    const res = await client.call('/api/auth/api-keys', {
      key: adminKey,
      body: scopes === 'full' ? { label, fullAccess: true } : { label, scopes },
    });
    expect(res.status).toBe(201);
    return { id: res.json.key.id, secret: res.json.secret };
  }

  beforeAll(async () => {
    admin = await connectAs('admin');
    store = new EventStore(admin);
    superuser = pg('postgres');
    await superuser.connect();
    // A clean slate for the gateway's auth state: no password, no keys, no lockouts, not frozen.
    await superuser.query(
      'TRUNCATE gateway.operator_credential, gateway.operator_session, gateway.api_key, gateway.login_throttle',
    );
    const agent = await store.readAggregate('agent', DEFAULT_AGENT_ID);
    const lastFreeze = agent
      .filter((e) => e.event.type === 'agent.frozen' || e.event.type === 'agent.thawed')
      .pop();
    if (lastFreeze?.event.type === 'agent.frozen') await cli('agent', 'thaw', '--reason', 'test setup');

    dataDir = mkdtempSync(join(tmpdir(), 'palisade-gw-'));
    Object.assign(
      process.env,
      serviceEnv('gateway', {
        PALISADE_GATEWAY_PORT: '0',
        PALISADE_GATEWAY_DATA_DIR: dataDir,
        PALISADE_GATEWAY_TLS_SANS: 'agent.example.test,192.0.2.77',
        PALISADE_GATEWAY_PUBLIC_ORIGINS: 'https://agent.example.test',
        PALISADE_GATEWAY_LOGIN_MAX_FAILURES: '3',
        PALISADE_GATEWAY_LOCKOUT_SECONDS: '1',
        PALISADE_GATEWAY_LOCKOUT_MAX_SECONDS: '8',
        PALISADE_GATEWAY_REQUESTS_PER_MINUTE: '300',
        PALISADE_GATEWAY_WS_CONNECTS_PER_MINUTE: '40',
        PALISADE_GATEWAY_WS_MAX_FRAME_BYTES: '4096',
        PALISADE_GATEWAY_WS_HANDSHAKE_MS: '700',
        PALISADE_GATEWAY_WS_PING_SECONDS: '1',
        PALISADE_LOG_LEVEL: 'warn',
      }),
    );
    gateway = await bootstrapService({
      service: 'gateway',
      configClass: GatewayConfig,
      module: GatewayUnderTest,
      http: gatewayListen,
    });
    const port = ((gateway.app as INestApplication).getHttpServer().address() as { port: number }).port;
    client = new GatewayClient(port, readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'));
  });

  afterAll(async () => {
    await gateway?.close();
    await superuser?.end();
    await admin?.close();
  });

  // Order matters for the first test only: onboarding needs a gateway without a password.
  test('without a password nothing but loopback onboarding works; the password is set once', async () => {
    expect((await client.call('/api/auth/whoami')).status).toBe(403);
    expect((await client.call('/api/auth/login', { body: { password: PASSWORD } })).status).toBe(401);
    const remote = nonLoopbackAddress();
    expect(remote).toBeDefined();
    const fromAfar = await client.call('/api/auth/onboarding', {
      body: { password: PASSWORD },
      localAddress: remote,
    });
    expect(fromAfar.status).toBe(403);
    expect(fromAfar.json.message).toMatch(/loopback/);
    // A hostile page in the operator's browser cannot race to set the first password.
    expect(
      (
        await client.call('/api/auth/onboarding', {
          body: { password: PASSWORD },
          origin: 'https://evil.example',
        })
      ).status,
    ).toBe(403);
    expect((await client.call('/api/auth/onboarding', { body: { password: 'short' } })).status).toBe(400);

    const onboarded = await client.call('/api/auth/onboarding', {
      body: { password: PASSWORD },
      origin: origin(),
    });
    expect(onboarded.status).toBe(201);
    const setCookie = String([onboarded.headers['set-cookie']].flat()[0]);
    expect(setCookie).toMatch(/^palisade_session=[A-Za-z0-9_-]{43};/);
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/'])
      expect(setCookie).toContain(attribute);
    expect(
      (await client.call('/api/auth/onboarding', { body: { password: 'another long password' } })).status,
    ).toBe(409);

    const stored = await superuser.query('SELECT password_hash FROM gateway.operator_credential');
    expect(stored.rows[0].password_hash).toMatch(/^\$argon2id\$/);

    const login = await client.call('/api/auth/login', { body: { password: PASSWORD } });
    expect(login.status).toBe(200);
    cookie = GatewayClient.cookieOf(login);
    expect((await client.call('/api/auth/whoami', { cookie })).json).toMatchObject({
      type: 'user',
      scopes: ['operator.admin'],
    });
    const created = await client.call('/api/auth/api-keys', {
      cookie,
      origin: origin(),
      body: { label: 'test admin', fullAccess: true },
    });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(created.json.warning).toMatch(/full access/);
    adminKey = created.json.secret;
  });

  test('scope matrix: every route and every WebSocket method, for every scope (undeclared = admin only)', async () => {
    const routes: RouteInfo[] = gateway.app.get(RouteCatalog).routes();
    const methods = gateway.app.get(WsMethodRegistry).list();
    // The real module's routes are all there (the demo ones are extra, from this file).
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /api/auth/api-keys', 'POST /api/agent/freeze', 'GET /healthz']),
    );
    // Nothing is public by accident.
    expect(
      routes
        .filter((r) => r.access.kind === 'public')
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/api/auth/login', '/api/auth/onboarding', '/healthz']);

    const principals: { name: string; secret: string; scopes: Scope[] }[] = [];
    for (const scope of SCOPES.filter((s) => s !== Scope.OperatorAdmin)) {
      principals.push({
        name: scope,
        secret: (await newKey(`matrix ${scope}`, [scope])).secret,
        scopes: [scope],
      });
    }
    principals.push({
      name: 'full access',
      secret: (await newKey('matrix admin', 'full')).secret,
      scopes: [Scope.OperatorAdmin],
    });
    const holds = (p: { scopes: Scope[] }, s: Scope) =>
      p.scopes.includes(Scope.OperatorAdmin) || p.scopes.includes(s);

    const rows: string[] = [];
    for (const route of routes.filter((r) => r.access.kind !== 'public')) {
      if (route.path === '/api/agent/freeze' && route.method === 'POST') continue; // covered below with a valid body by design
      const path = route.path.replace(/:(\w+)/g, '01a20000-0000-7000-8000-000000000000');
      for (const p of principals) {
        const res = await client.call(path, {
          method: route.method,
          key: p.secret,
          ...(route.method === 'GET' || route.method === 'HEAD' ? {} : { body: PROBE_BODY }),
        });
        const allowed =
          route.access.kind === 'any-operator' || holds(p, (route.access as { scope: Scope }).scope);
        rows.push(`${route.method} ${route.path} × ${p.name}: ${res.status}`);
        if (allowed) expect([401, 403]).not.toContain(res.status);
        else {
          expect(res.status).toBe(403);
          expect(res.json.message).toMatch(/needs the operator\.\w+ scope/);
        }
      }
    }
    // The freeze route with a refused body: the guard decides first, the validator second.
    for (const p of principals) {
      const res = await client.call('/api/agent/freeze', { key: p.secret, body: PROBE_BODY });
      expect(res.status).toBe(holds(p, Scope.OperatorAdmin) ? 400 : 403);
    }
    expect(rows.length).toBeGreaterThan(routes.length);

    for (const p of principals) {
      const ws = client.ws();
      await ws.opened;
      expect((await ws.connect({ api_key: p.secret })).payload).toMatchObject({
        type: 'hello-ok',
        scopes: p.scopes,
      });
      for (const method of methods) {
        const res = await ws.request(method.name, {});
        const allowed = method.access.kind !== 'scope' || holds(p, method.access.scope);
        if (allowed) expect(res.error?.code).not.toBe('forbidden');
        else
          expect(res.error).toEqual({
            code: 'forbidden',
            message: expect.stringMatching(/needs the operator\.\w+ scope/),
          });
      }
      expect((await ws.request('no.such.method')).error?.code).toBe('unknown_method');
      ws.close();
    }
  });

  test('an operator.read key cannot approve, change identity, create keys or freeze — and each denial is audited', async () => {
    const reader = await newKey('reader', [Scope.OperatorRead]);
    const before = await store.lastSeq();
    expect((await client.call('/test-demo/status', { key: reader.secret })).status).toBe(200);
    expect(
      (await client.call('/test-demo/approvals/abc/decide', { key: reader.secret, body: {} })).status,
    ).toBe(403);
    expect(
      (await client.call('/test-demo/identity', { method: 'PUT', key: reader.secret, body: { name: 'x' } }))
        .status,
    ).toBe(403);
    expect(
      (
        await client.call('/api/auth/api-keys', {
          key: reader.secret,
          body: { label: 'escalate', fullAccess: true },
        })
      ).status,
    ).toBe(403);
    expect(
      (await client.call('/api/agent/freeze', { key: reader.secret, body: { reason: 'nope' } })).status,
    ).toBe(403);
    const denied = await eventsSince(before, 'auth.scope.denied');
    expect(denied.map((e) => (e.data as { operation: string }).operation)).toEqual([
      'POST /test-demo/approvals/:id/decide',
      'PUT /test-demo/identity',
      'POST /api/auth/api-keys',
      'POST /api/agent/freeze',
    ]);
    expect(denied[0]).toMatchObject({
      source: 'palisade/gateway',
      actortype: 'apikey',
      actorid: reader.id,
      data: { required: 'operator.approvals', keyId: reader.id },
    });
    // Real routes of that kind, whoever adds them, declare the right scope.
    for (const r of gateway.app.get(RouteCatalog).routes()) {
      if (r.method !== 'GET' && /approval/.test(r.path) && r.access.kind === 'scope')
        expect([Scope.OperatorApprovals, Scope.OperatorAdmin]).toContain(r.access.scope);
      if (r.method !== 'GET' && /identity/.test(r.path) && r.access.kind === 'scope')
        expect([Scope.OperatorWrite, Scope.OperatorAdmin]).toContain(r.access.scope);
    }
  });

  test('a revoked key fails on its next call and its sockets close (revoked through the API and through the CLI)', async () => {
    for (const via of ['api', 'cli'] as const) {
      const key = await newKey(`revoke via ${via}`, [Scope.OperatorRead]);
      expect((await client.call('/api/auth/whoami', { key: key.secret })).status).toBe(200);
      const ws = client.ws();
      await ws.opened;
      expect((await ws.connect({ api_key: key.secret })).ok).toBe(true);
      if (via === 'api')
        expect(
          (await client.call(`/api/auth/api-keys/${key.id}`, { method: 'DELETE', key: adminKey })).status,
        ).toBe(200);
      else expect((await cli('auth', 'revoke-api-key', key.id, '--reason', 'test')).code).toBe(0);
      expect(
        (await client.call('/api/auth/whoami', { key: key.secret, localAddress: freshAddress() })).status,
      ).toBe(401);
      expect(await ws.closed).toEqual({ code: WsClose.Revoked, reason: 'API key revoked' });
      const again = client.ws({ localAddress: freshAddress() });
      await again.opened;
      expect((await again.connect({ api_key: key.secret })).error?.code).toBe('unauthorized');
      expect((await again.closed).code).toBe(WsClose.Unauthorized);
    }
    const listed = (await client.call('/api/auth/api-keys', { key: adminKey })).json.keys as {
      label: string;
      revokedAt: string | null;
      lastUsedAt: string | null;
    }[];
    expect(listed.find((k) => k.label === 'revoke via cli')).toMatchObject({
      revokedAt: expect.any(String),
      lastUsedAt: expect.any(String),
    });
  });

  test('brute force: the address is locked out after 3 failures and unlocked after a growing back-off', async () => {
    const attacker = '127.0.0.3';
    const before = await store.lastSeq();
    const login = (password: string) =>
      client.call('/api/auth/login', { body: { password }, localAddress: attacker });
    for (let i = 0; i < 3; i++) expect((await login(`guess number ${i}`)).status).toBe(401);
    const locked = await login(PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBe(1);
    // API key guesses from the locked address are refused too, and so is WebSocket password auth.
    expect(
      (await client.call('/api/auth/whoami', { key: 'pk_' + 'A'.repeat(43), localAddress: attacker })).status,
    ).toBe(429);
    // Another address is not affected.
    expect(
      (await client.call('/api/auth/login', { body: { password: PASSWORD }, localAddress: '127.0.0.4' }))
        .status,
    ).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200));
    for (let i = 0; i < 3; i++) expect((await login(`second round ${i}`)).status).toBe(401);
    const second = await login(PASSWORD);
    expect(second.status).toBe(429);
    expect(Number(second.headers['retry-after'])).toBe(2); // doubled
    const ws = client.ws({ localAddress: attacker });
    await ws.opened;
    expect((await ws.connect({ password: PASSWORD })).error?.code).toBe('rate_limited');
    expect((await ws.closed).code).toBe(WsClose.TooManyAttempts);
    await new Promise((r) => setTimeout(r, 2_200));
    expect((await login(PASSWORD)).status).toBe(200);

    const failed = await eventsSince(before, 'auth.login.failed');
    expect(failed.filter((e) => (e.data as { remote: string }).remote === attacker)).toHaveLength(6);
    const lockouts = (await eventsSince(before, 'auth.lockout')).filter(
      (e) => (e.data as { remote: string }).remote === attacker,
    );
    expect(lockouts).toHaveLength(2);
    expect(lockouts[0]).toMatchObject({
      source: 'palisade/gateway',
      data: { user: 'operator', failures: 3 },
    });
    expect(JSON.stringify(failed)).not.toContain('guess number');
  });

  test('forged Origin: cookie-authenticated state changes and WebSocket upgrades from other origins are refused and audited', async () => {
    const before = await store.lastSeq();
    const body = { label: 'csrf', scopes: ['operator.read'] };
    expect(
      (await client.call('/api/auth/api-keys', { cookie, body, origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await client.call('/api/auth/api-keys', { cookie, body })).status).toBe(403); // no Origin at all
    // DNS rebinding: Origin and Host agree, but the name is not the gateway's.
    const rebinding = `evil.example:${client.port}`;
    expect(
      (
        await client.call('/api/auth/api-keys', {
          cookie,
          body,
          origin: `https://${rebinding}`,
          host: rebinding,
        })
      ).status,
    ).toBe(403);
    expect(
      (await client.call('/api/auth/api-keys', { cookie, body, origin: `http://localhost:${client.port}` }))
        .status,
    ).toBe(403); // wrong scheme
    // Same origin and the configured public origin pass; reads need no Origin.
    expect((await client.call('/api/auth/api-keys', { cookie, body, origin: origin() })).status).toBe(201);
    expect(
      (await client.call('/api/auth/api-keys', { cookie, body, origin: 'https://agent.example.test' }))
        .status,
    ).toBe(201);
    expect((await client.call('/api/auth/whoami', { cookie })).status).toBe(200);
    // API keys are not ambient credentials: no Origin needed.
    expect((await client.call('/api/auth/api-keys', { key: adminKey, body })).status).toBe(201);

    const hijack = client.ws({ origin: 'https://evil.example', cookie });
    await expect(hijack.opened).rejects.toThrow(/403/);
    const good = client.ws({ origin: origin(), cookie });
    await good.opened;
    expect((await good.connect()).payload).toMatchObject({ type: 'hello-ok', principal: { type: 'user' } });
    good.close();

    const rejected = await eventsSince(before, 'gateway.origin.rejected');
    expect(rejected.map((e) => (e.data as { origin: string }).origin)).toEqual([
      'https://evil.example',
      '(none)',
      `https://${rebinding}`,
      `http://localhost:${client.port}`,
      'https://evil.example',
    ]);
  });

  test('an expired session is refused; logout ends a session', async () => {
    const login = await client.call('/api/auth/login', { body: { password: PASSWORD } });
    const session = GatewayClient.cookieOf(login);
    expect((await client.call('/api/auth/whoami', { cookie: session })).status).toBe(200);
    await superuser.query(
      `UPDATE gateway.operator_session SET expires_at = now() - interval '1 second' WHERE token_hash = encode(sha256($1::bytea), 'hex')`,
      [session.split('=')[1]],
    );
    const expired = await client.call('/api/auth/whoami', { cookie: session });
    expect(expired.status).toBe(401);
    expect(expired.json.message).toMatch(/expired/);
    const ws = client.ws({ cookie: session, origin: origin() });
    await ws.opened;
    expect((await ws.connect()).error?.code).toBe('unauthorized');

    const other = GatewayClient.cookieOf(
      await client.call('/api/auth/login', { body: { password: PASSWORD } }),
    );
    expect(
      (await client.call('/api/auth/logout', { cookie: other, origin: origin(), body: {} })).status,
    ).toBe(204);
    expect((await client.call('/api/auth/whoami', { cookie: other })).status).toBe(401);
  });

  test('timing: an unknown prefix, a wrong key with a known prefix and a revoked key take the same path', async () => {
    const keys = gateway.app.get(ApiKeyService);
    const live = await newKey('timing live', [Scope.OperatorRead]);
    const revoked = await newKey('timing revoked', [Scope.OperatorRead]);
    await client.call(`/api/auth/api-keys/${revoked.id}`, { method: 'DELETE', key: adminKey });
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const cases = {
      unknownPrefix: () => 'pk_' + Buffer.alloc(32, 7).toString('base64url'),
      wrongKnownPrefix: () => flip(live.secret),
      revoked: () => revoked.secret,
    };
    const samples: Record<string, number[]> = { unknownPrefix: [], wrongKnownPrefix: [], revoked: [] };
    for (let i = 0; i < 50; i++) for (const make of Object.values(cases)) await keys.authenticate(make()); // warm-up
    for (let i = 0; i < 400; i++) {
      for (const [name, make] of Object.entries(cases)) {
        const presented = make();
        const t0 = process.hrtime.bigint();
        const result = await keys.authenticate(presented);
        samples[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
        expect(result.ok).toBe(false);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    const spread = Math.max(...Object.values(m)) - Math.min(...Object.values(m));
    // A property, not a speed: no path is distinguishable beyond scheduling noise (every path does one
    // lookup, one hash, one constant-time comparison).
    expect(spread).toBeLessThan(Math.max(0.3 * Math.min(...Object.values(m)), 0.15));
  });

  test('rate limits: requests per key and WebSocket connects per address answer 429 with Retry-After', async () => {
    const key = await newKey('busy', [Scope.OperatorRead]);
    // The bucket (300/min) refills continuously, so on a slow machine one burst may not empty it: keep
    // sending bursts until it answers 429 (bounded — a limiter that never answers 429 fails the test).
    const results: Awaited<ReturnType<typeof client.call>>[] = [];
    for (let burst = 0; burst < 20 && !results.some((r) => r.status === 429); burst++)
      results.push(
        ...(await Promise.all(
          Array.from({ length: 160 }, () => client.call('/api/auth/whoami', { key: key.secret })),
        )),
      );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another key is not slowed down.
    expect((await client.call('/api/auth/whoami', { key: adminKey })).status).toBe(200);

    const outcomes: (number | 'open')[] = [];
    for (let i = 0; i < 45; i++) {
      const ws = client.ws({ localAddress: '127.0.0.9' });
      outcomes.push(
        await ws.opened.then(
          () => 'open' as const,
          () => ws.rejectedWith ?? 0,
        ),
      );
      ws.close();
    }
    expect(outcomes.filter((o) => o === 'open').length).toBeLessThanOrEqual(40);
    expect(outcomes).toContain(429);
  });

  test('WebSocket protocol: handshake timeout, first frame, bad frames, frame size, idle ping, scoped broadcast', async () => {
    const silent = client.ws();
    await silent.opened;
    expect(await silent.closed).toEqual({
      code: WsClose.HandshakeTimeout,
      reason: expect.stringMatching(/handshake timeout/),
    });

    const wrongFirst = client.ws();
    await wrongFirst.opened;
    await wrongFirst.request('whoami').catch(() => undefined);
    expect((await wrongFirst.closed).code).toBe(WsClose.Unauthorized);

    const badJson = client.ws();
    await badJson.opened;
    badJson.ws.send('{"type":"req",');
    expect(await badJson.closed).toEqual({ code: WsClose.BadFrame, reason: 'bad frame: not JSON' });

    const badShape = client.ws();
    await badShape.opened;
    badShape.ws.send(
      JSON.stringify({
        type: 'req',
        id: 'x',
        method: 'connect',
        params: { client: { id: 'c', version: '1' }, auth: { api_key: adminKey }, extra: 1 },
      }),
    );
    expect((await badShape.closed).code).toBe(WsClose.BadFrame);

    const binary = client.ws();
    await binary.opened;
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).toBe(WsClose.UnsupportedData);

    const big = client.ws();
    await big.opened;
    await big.connect({ api_key: adminKey });
    big.ws.send(
      JSON.stringify({ type: 'req', id: 'b', method: 'whoami', params: { pad: 'x'.repeat(5000) } }),
    );
    expect((await big.closed).code).toBe(WsClose.MessageTooBig);

    const deaf = client.ws({ autoPong: false });
    await deaf.opened;
    await deaf.connect({ api_key: adminKey });
    const closedDeaf = await Promise.race([
      deaf.closed,
      new Promise((r) => setTimeout(() => r('still open'), 4_000)),
    ]);
    expect(closedDeaf).toMatchObject({ code: 1006 }); // terminated after a missed pong

    const approver = await newKey('approver', [Scope.OperatorApprovals]);
    const reader = await newKey('reader 2', [Scope.OperatorRead]);
    const sockets = { approver: client.ws(), reader: client.ws(), admin: client.ws() };
    await Promise.all(Object.values(sockets).map((s) => s.opened));
    expect((await sockets.approver.connect({ api_key: approver.secret })).payload.scopes).toEqual([
      'operator.approvals',
    ]);
    await sockets.reader.connect({ api_key: reader.secret });
    await sockets.admin.connect({ password: PASSWORD });
    const ws = gateway.app.get(WsGateway);
    expect(
      ws.broadcast('exec.approval.requested', { approval: 'a1' }, Scope.OperatorApprovals),
    ).toBeGreaterThanOrEqual(2);
    ws.broadcast('session.updated', { session: 's1' }, Scope.OperatorRead);
    expect(await sockets.approver.next()).toMatchObject({
      type: 'event',
      event: 'exec.approval.requested',
      payload: { approval: 'a1' },
    });
    expect(await sockets.admin.next()).toMatchObject({ event: 'exec.approval.requested' });
    expect(await sockets.admin.next()).toMatchObject({ event: 'session.updated' });
    // The reader gets the session event but never the approval one.
    expect(await sockets.reader.next()).toMatchObject({ event: 'session.updated' });
    await expect(sockets.approver.next(300)).rejects.toThrow(/no frame/);
    Object.values(sockets).forEach((s) => s.close());
  });

  test('bad input: malformed JSON, oversize bodies and unknown fields get 400/413 with a clear message, never a stack', async () => {
    const malformed = await client.call('/api/auth/api-keys', { key: adminKey, raw: '{"label": "x",' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.message).toMatch(/JSON/); // Nest maps body-parser's SyntaxError to a 400 with its message
    const oversize = await client.call('/api/auth/api-keys', {
      key: adminKey,
      raw: JSON.stringify({ label: 'x'.repeat(200_000) }),
    });
    expect(oversize.status).toBe(413);
    const unknown = await client.call('/api/auth/api-keys', {
      key: adminKey,
      body: { label: 'x', scopes: ['operator.read'], admin: true },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toEqual(['property admin should not exist']);
    const badScope = await client.call('/api/auth/api-keys', {
      key: adminKey,
      body: { label: 'x', scopes: ['root'] },
    });
    expect(badScope.status).toBe(400);
    const neither = await client.call('/api/auth/api-keys', { key: adminKey, body: { label: 'x' } });
    expect(neither.status).toBe(400);
    expect(neither.json.message).toMatch(/operator\.read[\s\S]*operator\.approvals[\s\S]*operator\.pairing/);
    const badId = await client.call('/api/auth/api-keys/not-a-uuid', { method: 'DELETE', key: adminKey });
    expect(badId.status).toBe(400);
    for (const r of [malformed, oversize, unknown, badScope, neither, badId])
      expect(r.text).not.toMatch(/\n\s+at |node_modules/);
  });

  test('OpenAPI is generated from the DTOs and served only to authenticated operators', async () => {
    expect((await client.call('/api/openapi.json')).status).toBe(401);
    const reader = await newKey('openapi reader', [Scope.OperatorRead]);
    const doc = (await client.call('/api/openapi.json', { key: reader.secret })).json;
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.paths['/api/auth/api-keys'].post).toMatchObject({
      'x-required-scope': 'operator.admin',
      requestBody: {
        content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateApiKeyDto' } } },
      },
    });
    expect(doc.components.schemas.CreateApiKeyDto).toMatchObject({
      additionalProperties: false,
      required: ['label'],
      properties: {
        label: { type: 'string', maxLength: 256 },
        scopes: { type: 'array', items: { enum: [...SCOPES] } },
        fullAccess: { type: 'boolean' },
      },
    });
    expect(doc.paths['/test-demo/undeclared'].get['x-required-scope']).toBe(
      'operator.admin (undeclared: admin only)',
    );
    expect(doc.paths['/api/auth/api-keys/{id}'].delete.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
    ]);
  });

  test('the CLI refuses a key with neither scopes nor --full-access (listing the scopes) and says what full access means', async () => {
    const refused = await cli('auth', 'create-api-key', '--label', 'no scopes');
    expect(refused.code).toBe(2);
    for (const scope of SCOPES) expect(refused.stderr).toContain(scope);
    const admin = await cli('auth', 'create-api-key', '--label', 'cli admin', '--scopes', 'operator.admin');
    expect(admin.code).toBe(2);
    expect(admin.stderr).toMatch(/full-access/);
    const full = await cli('auth', 'create-api-key', '--label', 'cli full', '--full-access');
    expect(full.code).toBe(0);
    expect(full.stderr).toMatch(/FULL ACCESS/);
    const scoped = await cli(
      'auth',
      'create-api-key',
      '--label',
      'cli scoped',
      '--scopes',
      'operator.read,operator.pairing',
      '--json',
    );
    const made = JSON.parse(scoped.stdout) as { id: string; key: string; scopes: string[] };
    expect(made.scopes).toEqual(['operator.read', 'operator.pairing']);
    expect((await client.call('/api/auth/whoami', { key: made.key })).json).toMatchObject({
      id: made.id,
      scopes: made.scopes,
    });
    const listed = await cli('auth', 'list-api-keys');
    expect(listed.stdout).toContain('cli scoped');
    expect(listed.stdout).not.toContain(made.key);
    // The secret is stored nowhere: not in PostgreSQL, not in the log.
    const rows = await superuser.query('SELECT * FROM gateway.api_key WHERE id = $1', [made.id]);
    expect(JSON.stringify(rows.rows)).not.toContain(made.key.slice(3));
    const created = await store.readAggregate('apikey', made.id);
    expect(created.map((e) => e.event.type)).toEqual(['apikey.created']);
    expect(created[0].raw).not.toContain(made.key.slice(3));
  });

  test('kill switch: freeze revokes every other key, closes their sockets, refuses actions but thaw; thaw keeps keys revoked', async () => {
    const freezer = await newKey('freezer', 'full');
    const other = await newKey('other', [Scope.OperatorRead]);
    const ws = client.ws();
    await ws.opened;
    await ws.connect({ api_key: other.secret });
    const before = await store.lastSeq();

    const frozen = await client.call('/api/agent/freeze', {
      key: freezer.secret,
      body: { reason: 'suspected compromise' },
    });
    expect(frozen.status).toBe(200);
    expect(frozen.json.revokedKeys.map((k: { id: string }) => k.id)).toEqual(
      expect.arrayContaining([other.id]),
    );
    expect(frozen.json.revokedKeys.map((k: { id: string }) => k.id)).not.toContain(freezer.id);
    const agentEvents = await store.readAggregate('agent', DEFAULT_AGENT_ID);
    expect(agentEvents[agentEvents.length - 1].event).toMatchObject({
      type: 'agent.frozen',
      actortype: 'apikey',
      actorid: freezer.id,
      data: { reason: 'suspected compromise' },
    });
    expect((await ws.closed).code).toBe(WsClose.Revoked);
    expect(
      (await client.call('/api/auth/whoami', { key: other.secret, localAddress: freshAddress() })).status,
    ).toBe(401);
    expect(
      (await client.call('/api/auth/whoami', { key: adminKey, localAddress: freshAddress() })).status,
    ).toBe(401); // every key but the caller's
    expect((await eventsSince(before, 'apikey.revoked')).length).toBe(frozen.json.revokedKeys.length);

    // Reads still work, actions do not — except the admin thaw.
    expect((await client.call('/api/agent/freeze', { key: freezer.secret })).json).toMatchObject({
      frozen: true,
    });
    const refused = await client.call('/api/auth/api-keys', {
      key: freezer.secret,
      body: { label: 'during freeze', scopes: ['operator.read'] },
    });
    expect(refused.status).toBe(423);
    expect(
      (await client.call('/test-demo/approvals/x/decide', { key: freezer.secret, body: {} })).status,
    ).toBe(423);
    const adminWs = client.ws();
    await adminWs.opened;
    await adminWs.connect({ api_key: freezer.secret });
    expect((await adminWs.request('demo.approvals.decide')).error?.code).toBe('frozen');
    expect((await adminWs.request('demo.status')).ok).toBe(true);
    adminWs.close();

    expect(
      (await client.call('/api/agent/thaw', { key: freezer.secret, body: { reason: 'all clear' } })).json,
    ).toMatchObject({ frozen: false });
    expect(
      (await client.call('/api/auth/whoami', { key: other.secret, localAddress: freshAddress() })).status,
    ).toBe(401); // stays revoked
    expect(
      (await client.call('/test-demo/approvals/x/decide', { key: freezer.secret, body: {} })).status,
    ).toBe(201);

    // From the command line: freezes every key (no caller key to keep); the gateway sees it at once.
    const out = await cli('agent', 'freeze', '--reason', 'cli drill');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/agent frozen/);
    expect(
      (await client.call('/api/auth/whoami', { key: freezer.secret, localAddress: freshAddress() })).status,
    ).toBe(401);
    const session = GatewayClient.cookieOf(
      await client.call('/api/auth/login', { body: { password: PASSWORD } }),
    );
    expect(
      (await client.call('/test-demo/approvals/x/decide', { cookie: session, origin: origin(), body: {} }))
        .status,
    ).toBe(423);
    expect((await cli('agent', 'status')).stdout).toMatch(/FROZEN since .*: cli drill/);
    expect((await cli('agent', 'thaw')).code).toBe(0);
    await waitFor(
      'thaw seen',
      async () =>
        (await client.call('/test-demo/approvals/x/decide', { cookie: session, origin: origin(), body: {} }))
          .status === 201,
    );
    adminKey = (
      await client.call('/api/auth/api-keys', {
        cookie: session,
        origin: origin(),
        body: { label: 'after drill', fullAccess: true },
      })
    ).json.secret;
  });

  test('TLS: the generated chain verifies, carries the configured names, sits in mode-600 files, and is renewed before expiry', async () => {
    const tlsDir = join(dataDir, 'tls');
    expect(statSync(tlsDir).mode & 0o777).toBe(0o700);
    for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key'])
      expect(statSync(join(tlsDir, f)).mode & 0o777).toBe(0o600);
    const served = () =>
      new Promise<X509Certificate>((resolve, reject) => {
        const socket = tlsConnect(
          { host: '127.0.0.1', port: client.port, servername: 'agent.example.test', ca: client.ca },
          () => {
            const cert = socket.getPeerX509Certificate()!;
            socket.end();
            resolve(cert);
          },
        );
        socket.on('error', reject);
      });
    const first = await served(); // verified against our CA, for a configured name
    expect(first.subjectAltName).toEqual(expect.stringContaining('DNS:localhost'));
    expect(first.subjectAltName).toEqual(expect.stringContaining('DNS:agent.example.test'));
    expect(first.subjectAltName).toEqual(expect.stringContaining('IP Address:192.0.2.77'));
    expect(first.subjectAltName).toEqual(expect.stringContaining('IP Address:127.0.0.1'));
    const renewal = gateway.app.get(TlsRenewal);
    expect(renewal.check()).toBe(false); // fresh: nothing to do
    expect(renewal.check(new Date(Date.now() + 70 * 86_400_000))).toBe(true); // within the renewal window
    const second = await served();
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(new Date(second.validTo).getTime()).toBeGreaterThan(new Date(first.validTo).getTime());
  });
});

export type { HttpResult };
