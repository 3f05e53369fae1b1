// Gateway front-door throughput and fan-out against the real infrastructure (scripts/infra.sh up):
//   rest      authenticated REST requests (GET /api/auth/whoami with a Bearer API key: key lookup in
//             PostgreSQL, constant-time hash compare, scope check) from 50 concurrent keep-alive HTTPS
//             connections for a fixed time: requests/s, p50/p99 latency
//   fan-out   one event broadcast to 100 authenticated WSS clients: latency from the trigger to each
//             client's receipt (p50/p99/max over all deliveries) and until the last client had it
// The gateway runs as its own process (this file with --server: the real GatewayModule plus one
// bench-only admin route that calls WsGateway.broadcast). Its per-key and per-address rate limits are
// raised for the run (they would otherwise answer 429, by design).
// Run: npm run bench -- gateway-auth, or node dist/bench/gateway-auth.bench.js [--seconds 10] [--connections 50] [--clients 100] [--events 200]
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Body, Controller, Get, HttpCode, INestApplication, Module, Post } from '@nestjs/common';
import { IsNumber } from 'class-validator';
import { Client } from 'pg';
import { Scope } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { bootstrapService } from '@palisade/nats';
import {
  connectAs,
  GatewayClient,
  infraFacts,
  pgPasswordFileOf,
  serviceEnv,
  waitFor,
  WsClient,
} from '@palisade/testing';
import { createApiKey } from '../services/gateway/src/auth/core/auth.operations';
import { AuthStore } from '../services/gateway/src/auth/core/auth.store';
import { hashPassword, OPERATOR_USER } from '../services/gateway/src/auth/core/password';
import { Public, RequireScope } from '../services/gateway/src/auth/auth.decorators';
import { GatewayConfig } from '../services/gateway/src/gateway.config';
import { GatewayModule } from '../services/gateway/src/gateway.module';
import { gatewayListen } from '../services/gateway/src/http/gateway-tls';
import { WsGateway } from '../services/gateway/src/ws/ws.server';

const REPO = join(__dirname, '..', '..');
process.env.PALISADE_HOME ||= join(REPO, '.palisade');

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? Number(process.argv[at + 1]) : fallback;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const nowMs = () => performance.timeOrigin + performance.now();

// --- the gateway process -------------------------------------------------------------------------
class BroadcastDto {
  @IsNumber() t0: number;
}

@Controller('bench')
class BenchController {
  constructor(private readonly ws: WsGateway) {}

  @RequireScope(Scope.OperatorAdmin)
  @Post('broadcast')
  @HttpCode(200)
  broadcast(@Body() body: BroadcastDto) {
    return { sent: this.ws.broadcast('bench.tick', { t0: body.t0 }, Scope.OperatorRead) };
  }

  // The baseline: the same HTTPS server, Nest pipeline and JSON answer, without authentication.
  @Public()
  @Get('ping')
  ping() {
    return { ok: true };
  }
}

@Module({ imports: [GatewayModule], controllers: [BenchController] })
class BenchGateway {}

async function server(): Promise<void> {
  const running = await bootstrapService({
    service: 'gateway',
    configClass: GatewayConfig,
    module: BenchGateway,
    http: gatewayListen,
  });
  const port = ((running.app as INestApplication).getHttpServer().address() as { port: number }).port;
  process.send?.({ port });
  process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
}

// --- the load generator ----------------------------------------------------------------------------
const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 50);
  const clients = arg('clients', 100);
  const events = arg('events', 200);

  // An operator password must exist before the gateway accepts any key; the bench makes a key for itself.
  const facts = infraFacts();
  const db = new Client({
    host: facts.pgHost,
    port: facts.pgPort,
    database: facts.pgDatabase,
    user: 'palisade_gateway',
    password: readFileSync(pgPasswordFileOf('palisade_gateway'), 'utf8').trim(),
  });
  await db.connect();
  const store = new AuthStore(db);
  if (!(await store.passwordHash()))
    await store.setPasswordHash(
      OPERATOR_USER,
      await hashPassword(`bench-${Math.random()}-${Date.now()}`),
      true,
    );
  const nc = await connectAs('gateway');
  const { key, secret } = await createApiKey(store, new EventStore(nc), {
    label: 'gateway-auth bench',
    fullAccess: true,
    actor: { type: 'user', id: 'bench' },
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-gw-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, [__filename, '--server'], {
    env: {
      ...serviceEnv('gateway', {
        PALISADE_GATEWAY_PORT: String(port),
        PALISADE_GATEWAY_DATA_DIR: dataDir,
        PALISADE_GATEWAY_REQUESTS_PER_MINUTE: '100000000',
        PALISADE_GATEWAY_WS_CONNECTS_PER_MINUTE: '100000',
        PALISADE_LOG_LEVEL: 'warn',
      }),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const gw = new GatewayClient(port, ca);
  await waitFor('gateway', async () => (await gw.call('/api/auth/whoami', { key: secret })).status === 200);

  try {
    // REST: N workers, each one keep-alive connection, requests back to back for `seconds`. The same
    // load on an unauthenticated route of the same server first: the difference is the auth cost.
    const load = async (path: string, headers: Record<string, string>) => {
      const agent = new Agent({ keepAlive: true, maxSockets: connections, ca });
      const latencies: number[] = [];
      let failures = 0;
      const once = () =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          const req = request(
            {
              host: '127.0.0.1',
              servername: 'localhost',
              port,
              path,
              headers: { ...headers, host: `localhost:${port}` },
              agent,
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : -1));
            },
          );
          req.on('error', () => resolve(-1));
          req.end();
        });
      for (let i = 0; i < connections * 4; i++) await once(); // warm-up: TLS handshakes, JIT, pool
      const deadline = performance.now() + seconds * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (performance.now() < deadline) {
            const ms = await once();
            if (ms < 0) failures++;
            else latencies.push(ms);
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      agent.destroy();
      latencies.sort((a, b) => a - b);
      return `${connections} connections, ${seconds} s: ${(latencies.length / elapsed).toFixed(0)} req/s, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, ${failures} failed`;
    };
    console.log(`baseline  GET /bench/ping (public, no auth)   ${await load('/bench/ping', {})}`);
    console.log(
      `rest      GET /api/auth/whoami (Bearer key)   ${await load('/api/auth/whoami', { authorization: `Bearer ${secret}` })}`,
    );

    // Fan-out: `clients` sockets, `events` broadcasts one after the other.
    const sockets: WsClient[] = [];
    for (let i = 0; i < clients; i++) {
      const ws = gw.ws();
      await ws.opened;
      const hello = await ws.connect({ api_key: secret });
      if (!hello.ok) throw new Error(`connect failed: ${JSON.stringify(hello.error)}`);
      sockets.push(ws);
    }
    const deliveries: number[] = [];
    const lastArrivals: number[] = [];
    for (let e = 0; e < events; e++) {
      const t0 = nowMs();
      const arrivals = sockets.map((s) =>
        s.next(10_000).then((f) => nowMs() - (f.payload as { t0: number }).t0),
      );
      const res = await gw.call('/bench/broadcast', { key: secret, body: { t0 } });
      if (res.status !== 200 || res.json.sent !== clients)
        throw new Error(`broadcast reached ${res.json?.sent} of ${clients}`);
      const got = await Promise.all(arrivals);
      deliveries.push(...got);
      lastArrivals.push(Math.max(...got));
    }
    sockets.forEach((s) => s.close());
    deliveries.sort((a, b) => a - b);
    lastArrivals.sort((a, b) => a - b);
    console.log(
      `fan-out   ${clients} clients, ${events} events: delivery p50 ${percentile(deliveries, 50).toFixed(2)} ms, p99 ${percentile(deliveries, 99).toFixed(2)} ms, max ${deliveries[deliveries.length - 1].toFixed(2)} ms; last client p50 ${percentile(lastArrivals, 50).toFixed(2)} ms, p99 ${percentile(lastArrivals, 99).toFixed(2)} ms (includes the trigger's HTTPS request)`,
    );
  } finally {
    child.kill('SIGTERM');
    await store.revokeApiKey(key.id, 'bench finished');
    await db.end();
    await nc.close();
  }
}

if (process.argv.includes('--server')) void server();
else
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
