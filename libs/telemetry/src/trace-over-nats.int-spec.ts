/**
 * One trace across two services over a real NATS server, exported to an OTLP/HTTP receiver.
 *
 * svc-a and svc-b are separate node processes (one process holds one global tracer provider),
 * running this library transpiled from source. svc-a opens a root span and makes a NATS request
 * with the trace context in the message headers; svc-b handles it in a child SERVER span, makes an
 * HTTP call from inside it (from an ES module: http instrumentation) and logs with the JSON logger. Both export to
 * the receiver below; the test checks that all spans share one trace id and that every parent
 * link points at the right span, across the NATS hop and the HTTP hop.
 *
 * Self-contained on purpose (own nats-server on a free port, own temp dir): it does not need
 * scripts/infra.sh or libs/testing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createConnection, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

jest.setTimeout(60_000);

const REPO = resolve(__dirname, '../../..');
const SRC = __dirname;

// ---------------------------------------------------------------------------------------------
// Small self-contained helpers

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createTcpServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => ok(port));
    });
  });
}

function findNatsServer(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return '/usr/sbin/nats-server';
}

async function waitForTcp(port: number, deadlineMs: number, alive: () => boolean): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (!alive()) throw new Error('nats-server exited during startup');
    const ok = await new Promise<boolean>((r) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

interface NatsServer {
  url: string;
  stop(): Promise<void>;
}

async function startNatsServer(dir: string): Promise<NatsServer> {
  const port = await freePort();
  const storeDir = join(dir, 'js');
  mkdirSync(storeDir);
  const proc = spawn(findNatsServer(), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  proc.once('exit', () => (exited = true));
  try {
    await waitForTcp(port, 10_000, () => !exited);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        if (exited) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}
interface Receiver {
  url: string;
  spans: ReceivedSpan[];
  contentTypes: string[];
  pings: IncomingHttpHeaders[];
  stop(): Promise<void>;
}

/** A tiny OTLP/HTTP receiver (JSON encoding), plus GET /ping for the HTTP hop. */
async function startReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const pings: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/ping') {
        pings.push(req.headers);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('pong');
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{
          resource: { attributes: OtlpAttribute[] };
          scopeSpans: Array<{ spans: OtlpSpan[] }>;
        }>;
      };
      for (const rs of body.resourceSpans) {
        const service =
          rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    pings,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Transpile this library (not its tests) to CommonJS next to the child scripts. */
function buildLibrary(outDir: string): void {
  const swc = require('@swc/core') as typeof import('@swc/core');
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(SRC)) {
    if (!file.endsWith('.ts') || file.includes('.spec.') || file.includes('.int-spec.')) continue;
    const { code } = swc.transformFileSync(join(SRC, file), {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
      sourceMaps: false,
    });
    writeFileSync(join(outDir, file.replace(/\.ts$/, '.js')), code);
  }
}

interface Child {
  proc: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  exit: Promise<number | null>;
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

function runNode(script: string, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', NODE_PATH: join(REPO, 'node_modules'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
      waiters.splice(0).forEach((w) => w());
    }
  });
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    lines,
    stderr: () => err,
    exit,
    waitFor(pred, ms = 15_000) {
      return new Promise((ok, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`timeout; stdout=${JSON.stringify(lines)} stderr=${err}`)),
          ms,
        );
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            clearTimeout(timer);
            ok(hit);
          } else waiters.push(check);
        };
        exit.then(() => {
          if (!lines.find(pred)) {
            clearTimeout(timer);
            fail(new Error(`exited; stdout=${JSON.stringify(lines)} stderr=${err}`));
          }
        });
        check();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The two services

// The HTTP call comes from an ES module using a named import, loaded (through require, as NestJS 12
// is) even before telemetry starts: the hard case for the http instrumentation.
const PING_MJS = `
import { get } from 'node:http';
export function ping(url) {
  return new Promise((ok, fail) => {
    get(url, (res) => { res.resume(); res.on('end', () => ok(res.statusCode)); }).on('error', fail);
  });
}
`;

const SERVICE_B = `
const { ping } = require('./ping.mjs');
const { connect } = require('@nats-io/transport-node');
const t = require('./telemetry/index.js');
const handle = t.startTelemetry({ serviceName: 'svc-b' });
const log = new t.JsonLogger({ context: 'EchoHandler' });
t.registerSecret(process.env.B_SECRET);

(async () => {
  const nc = await connect({ servers: process.env.NATS_URL, name: 'svc-b' });
  const sub = nc.subscribe('cmd.b.echo', { max: 1 });
  await nc.flush();
  process.stdout.write(JSON.stringify({ event: 'ready' }) + '\\n');
  for await (const m of sub) {
    await t.tracedHandle(m.subject, m.headers, async (span) => {
      log.log('handling with ' + process.env.B_SECRET, { password: 'hunter2', subject: m.subject });
      const status = await ping(process.env.PING_URL);
      m.respond(JSON.stringify({ status, traceparent: t.traceparentOf(), spanId: span.spanContext().spanId }));
    });
  }
  await nc.drain();
  await handle.shutdown();
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

const SERVICE_A = `
const { connect, headers } = require('@nats-io/transport-node');
const t = require('./telemetry/index.js');
const handle = t.startTelemetry({ serviceName: 'svc-a' });

(async () => {
  const nc = await connect({ servers: process.env.NATS_URL, name: 'svc-a' });
  const result = await t.withSpan('job.run', t.SpanKind.INTERNAL, async (root) => {
    const hdrs = headers();
    return t.tracedRequest('cmd.b.echo', hdrs, async (client) => {
      const m = await nc.request('cmd.b.echo', 'ping', { headers: hdrs, timeout: 10000 });
      return {
        event: 'result',
        rootSpanId: root.spanContext().spanId,
        clientSpanId: client.spanContext().spanId,
        traceId: client.spanContext().traceId,
        sentTraceparent: hdrs.get('traceparent'),
        reply: JSON.parse(m.string()),
      };
    });
  });
  process.stdout.write(JSON.stringify(result) + '\\n');
  await nc.drain();
  await handle.shutdown();
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

// ---------------------------------------------------------------------------------------------

describe('trace context over NATS, exported over OTLP/HTTP', () => {
  let dir: string;
  let nats: NatsServer | undefined;
  let receiver: Receiver | undefined;
  const children: Child[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-telemetry-'));
    buildLibrary(join(dir, 'telemetry'));
    writeFileSync(join(dir, 'svc-a.js'), SERVICE_A);
    writeFileSync(join(dir, 'svc-b.js'), SERVICE_B);
    writeFileSync(join(dir, 'ping.mjs'), PING_MJS);
    nats = await startNatsServer(dir);
    receiver = await startReceiver();
  });

  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await nats?.stop();
    await receiver?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('one trace id across both services, with correct parent links', async () => {
    const env = {
      NATS_URL: nats!.url,
      PALISADE_OTLP_ENDPOINT: receiver!.url,
      PING_URL: `${receiver!.url}/ping`,
      B_SECRET: 'b-registered-secret-42',
      PALISADE_LOG_LEVEL: 'info',
    };
    const b = runNode(join(dir, 'svc-b.js'), env);
    children.push(b);
    await b.waitFor((l) => l.event === 'ready');
    const a = runNode(join(dir, 'svc-a.js'), env);
    children.push(a);

    const result = (await a.waitFor((l) => l.event === 'result')) as {
      rootSpanId: string;
      clientSpanId: string;
      traceId: string;
      sentTraceparent: string;
      reply: { status: number; traceparent: string; spanId: string };
    };
    const [codeA, codeB] = await Promise.all([a.exit, b.exit]);
    expect({ codeA, stderrA: a.stderr() }).toEqual({ codeA: 0, stderrA: '' });
    expect({ codeB, stderrB: b.stderr() }).toEqual({ codeB: 0, stderrB: '' });

    const { traceId, rootSpanId, clientSpanId } = result;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // on the wire: the CLIENT span's context, sampled
    expect(result.sentTraceparent).toBe(`00-${traceId}-${clientSpanId}-01`);
    // in svc-b: the active context inside the handler is the SERVER span of the same trace
    expect(result.reply.traceparent).toBe(`00-${traceId}-${result.reply.spanId}-01`);
    expect(result.reply.status).toBe(200);

    // both services exported, as OTLP/JSON
    expect(receiver!.contentTypes.length).toBeGreaterThanOrEqual(2);
    expect(receiver!.contentTypes.every((c) => c.startsWith('application/json'))).toBe(true);
    const spans = receiver!.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const summary = spans.map((s) => `${s.service} ${s.kind} ${s.name}`).sort();
    expect(summary).toEqual(
      [
        'svc-a 1 job.run', // INTERNAL
        'svc-a 3 request cmd.b.echo', // CLIENT
        'svc-b 2 process cmd.b.echo', // SERVER
        'svc-b 3 GET', // CLIENT (http instrumentation)
        // the OTLP exports themselves are not traced (suppressed by the exporter)
      ].sort(),
    );
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));

    const root = byId.get(rootSpanId)!;
    const client = byId.get(clientSpanId)!;
    const server = byId.get(result.reply.spanId)!;
    const httpGet = spans.find((s) => s.name === 'GET')!;
    expect(root.parentSpanId ?? '').toBe('');
    expect(client.parentSpanId).toBe(root.spanId);
    expect(server.service).toBe('svc-b');
    expect(server.parentSpanId).toBe(client.spanId); // across the NATS hop
    expect(httpGet.parentSpanId).toBe(server.spanId);
    const attrs = Object.fromEntries((server.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
    expect(attrs).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'cmd.b.echo' });

    // across the HTTP hop: the receiver saw the http CLIENT span as parent
    expect(receiver!.pings).toHaveLength(1);
    expect(receiver!.pings[0].traceparent).toBe(`00-${traceId}-${httpGet.spanId}-01`);

    // svc-b's JSON log line carries the trace, and no secret
    const logLine = b.lines.find((l) => l.msg && String(l.msg).startsWith('handling'))!;
    expect(logLine).toMatchObject({
      level: 'info',
      service: 'svc-b',
      context: 'EchoHandler',
      msg: 'handling with ***',
      password: '***',
      subject: 'cmd.b.echo',
      trace_id: traceId,
      span_id: server.spanId,
    });
    expect(JSON.stringify(b.lines)).not.toMatch(/hunter2|b-registered-secret-42/);
  });
});
