// Test-side access to the real local infrastructure started by scripts/infra.sh.
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
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
}

/** Runs a compiled service (dist/) as its own process, the way the stack does. */
export function startServiceProcess(service: string, env: Record<string, string>, logDir?: string): ServiceProcess {
  const entry = join(repoRoot(), 'dist', 'services', service, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const dir = logDir ?? join(palisadeHome(), 'logs', 'test');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${service}-${process.pid}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  let buffer = '';
  const child = spawn(process.execPath, ['--enable-source-maps', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      log.write(chunk);
    });
  }
  return {
    name: service,
    child,
    logFile,
    output: () => buffer,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode) return resolve();
        child.once('exit', () => resolve());
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
