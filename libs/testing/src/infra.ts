// Test-side access to the real local infrastructure started by scripts/infra.sh.
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@palisade/nats';

export function repoRoot(): string {
  // From libs/testing/src, or from dist/libs/testing/src when compiled (benchmarks).
  const up = __dirname.split(/[\\/]/).includes('dist') ? ['..', '..', '..', '..'] : ['..', '..', '..'];
  return join(__dirname, ...up);
}

export function palisadeHome(): string {
  return process.env.PALISADE_HOME || join(repoRoot(), '.palisade');
}

export interface InfraFacts {
  home: string;
  natsUrl: string;
  /** The CA of nats-server's certificate when NATS runs with TLS. */
  natsCaFile?: string;
  natsMonitorUrl: string;
  pgHost: string;
  pgPort: number;
  pgDatabase: string;
}

export function infraFacts(): InfraFacts {
  const home = palisadeHome();
  const env: Record<string, string> = {};
  const file = join(home, 'infra.env');
  if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/infra.sh up (as root)`);
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  return {
    home,
    natsUrl: env.PALISADE_NATS_URL,
    natsCaFile: env.PALISADE_NATS_CA_FILE || undefined,
    natsMonitorUrl: env.PALISADE_NATS_MONITOR_URL,
    pgHost: env.PALISADE_PG_HOST,
    pgPort: Number(env.PALISADE_PG_PORT),
    pgDatabase: env.PALISADE_PG_DATABASE,
  };
}

export const seedFileOf = (user: string): string => join(palisadeHome(), 'secrets', 'nats', `${user}.nk`);
export const pgPasswordFileOf = (role: string): string => join(palisadeHome(), 'secrets', 'pg', `${role}.pw`);
export const keyFileOf = (name: string): string => join(palisadeHome(), 'secrets', 'keys', `${name}.pem`);
export const publicKeyFileOf = (name: string): string => join(palisadeHome(), 'secrets', 'keys', `${name}.pub.pem`);

/** Connects to the real nats-server as one of the manifest's principals (admin, soc, a service). */
export async function connectAs(user: string, onError?: (error: Error) => void): Promise<NatsConnection> {
  return connectNats({
    user,
    url: infraFacts().natsUrl,
    caFile: infraFacts().natsCaFile,
    seed: readFileSync(seedFileOf(user), 'utf8').trim(),
    reconnect: false,
    onError,
  });
}

/** The environment a service process gets in tests and in the local stack (no secret values, only paths). */
export function serviceEnv(service: string, extra: Record<string, string> = {}): Record<string, string> {
  const facts = infraFacts();
  const role = `palisade_${service.replace(/-/g, '_')}`;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PALISADE_HOME: facts.home,
    PALISADE_NATS_URL: facts.natsUrl,
    ...(facts.natsCaFile ? { PALISADE_NATS_CA_FILE: facts.natsCaFile } : {}),
    PALISADE_NATS_SEED_FILE: seedFileOf(service),
    PALISADE_PG_HOST: facts.pgHost,
    PALISADE_PG_PORT: String(facts.pgPort),
    PALISADE_PG_DATABASE: facts.pgDatabase,
    PALISADE_PG_USER: role,
    PALISADE_PG_PASSWORD_FILE: pgPasswordFileOf(role),
    ...extra,
  };
}

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  output: () => string;
  stop: () => Promise<void>;
  /** Sends a signal; for a terminating one, resolves when the process has exited. */
  signal: (signal: NodeJS.Signals) => Promise<void>;
}

/** Test-only preload: the service exits when the process that started it is gone (no orphans). */
export const DIE_WITH_PARENT_PRELOAD = (): string => join(repoRoot(), 'libs', 'testing', 'preload', 'die-with-parent.cjs');

/** Runs a compiled service (dist/) as its own process, the way the stack does. */
export function startServiceProcess(service: string, env: Record<string, string>, logDir?: string): ServiceProcess {
  const entry = join(repoRoot(), 'dist', 'services', service, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const dir = logDir ?? join(palisadeHome(), 'logs', 'test');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${service}-${process.pid}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  let buffer = '';
  // The IPC channel is only there so the child notices its parent's death (see the preload).
  const child = spawn(process.execPath, ['--enable-source-maps', '-r', DIE_WITH_PARENT_PRELOAD(), entry], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.channel?.unref();
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      log.write(chunk);
    });
  }
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    name: service,
    child,
    logFile,
    output: () => buffer,
    signal: (signal) =>
      new Promise<void>((resolve) => {
        if (exited()) return resolve();
        if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
          child.kill(signal);
          return resolve();
        }
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited()) return resolve();
        child.once('exit', () => resolve());
        // A stopped process (SIGSTOP in a test) must be continued to handle SIGTERM.
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && (value as unknown) !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** Waits until a service answers `health.<service>` with status ok. */
export async function waitHealthy(nc: NatsConnection, service: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(`${service} health`, async () => {
    const reply = await nc.request(`health.${service}`, '', { timeout: 1_000 });
    return reply.json<{ ok: boolean; data: { status: string } }>().data.status === 'ok';
  }, timeoutMs, 200);
}

/** A client connection seen by the NATS monitor (`/connz`), with the local process that owns it. */
export interface NatsClientConnection {
  cid: number;
  name: string;
  ip: string;
  port: number;
  /** Owner process, when the connection comes from this machine and /proc tells. */
  pid?: number;
}

/** Client connections to this worktree's nats-server, from its monitor endpoint. */
export async function natsConnections(): Promise<NatsClientConnection[]> {
  const res = await fetch(`${infraFacts().natsMonitorUrl}/connz?limit=4096`);
  if (!res.ok) throw new Error(`NATS monitor /connz answered ${res.status}`);
  const body = (await res.json()) as { connections?: { cid: number; name?: string; ip: string; port: number }[] };
  const conns = (body.connections ?? []).map((c) => ({ cid: c.cid, name: c.name ?? '', ip: c.ip, port: c.port }));
  const pids = pidsOfLocalTcpPorts(conns.filter((c) => isLoopback(c.ip)).map((c) => c.port));
  return conns.map((c) => ({ ...c, pid: isLoopback(c.ip) ? pids.get(c.port) : undefined }));
}

const isLoopback = (ip: string) => ip === '127.0.0.1' || ip === '::1' || ip.startsWith('::ffff:127.');

/** Maps local TCP ports to the pid holding the socket (Linux /proc; best effort, root sees all). */
export function pidsOfLocalTcpPorts(ports: number[]): Map<number, number> {
  const out = new Map<number, number>();
  if (!ports.length) return out;
  const wanted = new Set(ports);
  const inodes = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = parseInt(cols[1].split(':')[1] ?? '', 16);
      if (wanted.has(port) && cols[9] !== '0') inodes.set(`socket:[${cols[9]}]`, port);
    }
  }
  if (!inodes.size) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const port = inodes.get(link);
      if (port !== undefined && !out.has(port)) out.set(port, Number(entry));
    }
    if (out.size === inodes.size) break;
  }
  return out;
}
