// The whole of Palisade for end-to-end tests and benchmarks: every service as its own process on the
// real NATS, PostgreSQL and Docker, wired to stand-ins for the systems that cannot run here (Nextcloud
// Talk, Nextcloud Passwords over HTTPS, Ollama, a cloud model). Secrets go into mode-600 files in a
// temporary directory that is removed afterwards.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { SERVICE_NAMES, type PalisadeEvent } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import {
  connectAs,
  keyFileOf,
  natsConnections,
  publicKeyFileOf,
  repoRoot,
  serviceEnv,
  type ServiceProcess,
  startServiceProcess,
  waitFor,
  waitHealthy,
} from './infra';
import { GatewayClient } from './gateway-client';
import { CloudLlmStandin } from './standins/cloud-llm.standin';
import { OllamaStandin } from './standins/ollama.standin';
import { PasswordsStandin } from './standins/passwords.standin';
import { TalkStandin } from './standins/talk.standin';

export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

export interface PalisadeStackOptions {
  /** Extra env per service (e.g. a short approval timeout). */
  env?: Partial<Record<string, Record<string, string>>>;
  /** Configure the cloud model (through the credential broker). Default true. */
  cloud?: boolean;
  /** Talk stand-in port (the bench uses its own fake Talk instead: pass talk: false and talkUrl). */
  talk?: boolean;
  talkUrl?: string;
  /** Ollama URL to use instead of starting the stand-in. */
  ollamaUrl?: string;
  ollamaModel?: string;
  /** Talk bot secret (the bench brings its own). */
  botSecret?: string;
  /** Fixed ports (the bench's fake Talk expects to reach channels somewhere). */
  channelsPort?: number;
}

export class PalisadeStack {
  /**
   * One channel name per stack: replies a stopped stack could not deliver stay in channels.outbox (by
   * design — they are retried until their maximum age), and must not reach a later stack's Talk.
   */
  readonly channel = `talk-${randomBytes(3).toString('hex')}`;
  readonly botSecret: string;
  /** A full-access API key made with `palisade auth create-api-key` once the gateway is up. */
  operatorToken = '';
  /** The operator password, set with `palisade auth set-password` at start. */
  readonly operatorPassword = randomBytes(18).toString('base64url');
  gateway!: GatewayClient;
  /** The cloud model's API key: a unique high-entropy value, to be searched for afterwards. */
  readonly cloudKey = `sk-test-${randomBytes(24).toString('hex')}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'palisade-stack-'));
  talk?: TalkStandin;
  ollama?: OllamaStandin;
  cloud?: CloudLlmStandin;
  passwords?: PasswordsStandin;
  cloudEntryId?: string;
  procs: ServiceProcess[] = [];
  /** Processes replaced by restart() (their output stays part of logs()). */
  private readonly retired: ServiceProcess[] = [];
  private readonly envs = new Map<string, Record<string, string>>();
  admin!: NatsConnection;
  store!: EventStore;
  gatewayPort = 0;
  channelsPort = 0;

  constructor(private readonly options: PalisadeStackOptions = {}) {
    this.botSecret = options.botSecret ?? randomBytes(32).toString('hex');
  }

  /** HTTPS with the gateway's own local CA (its certificate is `gatewayCa`). */
  get gatewayUrl(): string {
    return `https://localhost:${this.gatewayPort}`;
  }

  get gatewayDataDir(): string {
    return join(this.dir, 'gateway');
  }

  get webhookUrl(): string {
    return `http://127.0.0.1:${this.channelsPort}/webhooks/talk/${this.channel}`;
  }

  private secretFile(name: string, value: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, value, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  }

  /**
   * Refuses to start while Palisade services are already connected to this NATS (a stale process from
   * a killed run would share the durable consumers and queue groups and silently take messages).
   */
  static async assertNoServicesConnected(): Promise<void> {
    const names = new Set(SERVICE_NAMES.map((s) => `palisade-${s}`));
    const stale = (await natsConnections()).filter((c) => names.has(c.name));
    if (!stale.length) return;
    const list = stale.map((c) => `${c.name} (${c.pid ? `pid ${c.pid}` : `pid unknown, ${c.ip}:${c.port}`})`);
    const pids = stale.flatMap((c) => (c.pid ? [c.pid] : []));
    throw new Error(
      `PalisadeStack: Palisade services are already connected to this NATS: ${list.join(', ')}. ` +
        'They would share the durable consumers and take messages meant for this run; stop them first' +
        (pids.length ? ` (kill ${[...new Set(pids)].join(' ')})` : '') +
        '.',
    );
  }

  async start(): Promise<this> {
    await PalisadeStack.assertNoServicesConnected();
    this.admin = await connectAs('admin');
    this.store = new EventStore(this.admin);
    this.gatewayPort = await freePort();
    this.channelsPort = this.options.channelsPort ?? (await freePort());

    let talkUrl = this.options.talkUrl;
    if (this.options.talk !== false) {
      this.talk = new TalkStandin({
        bots: [{ name: 'palisade', secret: this.botSecret, url: this.webhookUrl }],
      });
      await this.talk.start();
      talkUrl = this.talk.url;
    }
    let ollamaUrl = this.options.ollamaUrl;
    if (!ollamaUrl) {
      this.ollama = new OllamaStandin();
      await this.ollama.start();
      ollamaUrl = this.ollama.url;
    }
    const cloudEnv: Record<string, string> = {};
    const brokerEnv: Record<string, string> = {};
    if (this.options.cloud !== false) {
      this.cloud = new CloudLlmStandin({ apiKey: this.cloudKey });
      await this.cloud.start();
      const appPassword = randomBytes(24).toString('base64url');
      this.passwords = new PasswordsStandin({
        user: 'palisade-agent',
        appPassword,
        certDir: join(this.dir, 'passwords-ca'),
      });
      await this.passwords.start();
      this.cloudEntryId = this.passwords.addEntry({ label: 'cloud model key', password: this.cloudKey });
      const caFile = join(this.dir, 'passwords-ca.pem');
      writeFileSync(caFile, this.passwords.address().caCert ?? '', { mode: 0o600 });
      Object.assign(cloudEnv, {
        PALISADE_CLOUD_PROVIDER: 'openai',
        PALISADE_CLOUD_URL: this.cloud.url,
        PALISADE_CLOUD_MODEL: 'standin-cloud',
        PALISADE_CLOUD_CREDENTIAL: 'llm-cloud',
      });
      Object.assign(brokerEnv, {
        PALISADE_PASSWORDS_URL: this.passwords.url,
        PALISADE_PASSWORDS_USER: 'palisade-agent',
        PALISADE_PASSWORDS_APP_PASSWORD_FILE: this.secretFile('passwords-app-password', appPassword),
        PALISADE_PASSWORDS_CA_FILE: caFile,
        PALISADE_BROKER_ENTRIES: `llm-cloud=${this.cloudEntryId}`,
      });
    }
    const channelsFile = join(this.dir, 'channels.json');
    writeFileSync(
      channelsFile,
      JSON.stringify([
        {
          name: this.channel,
          kind: 'talk',
          baseUrl: talkUrl,
          secretFile: this.secretFile('talk-bot-secret', this.botSecret),
        },
      ]),
      { mode: 0o600 },
    );

    const base: Record<string, Record<string, string>> = {
      ledger: { PALISADE_LEDGER_KEY_FILE: keyFileOf('ledger-checkpoint') },
      gateway: {
        PALISADE_GATEWAY_PORT: String(this.gatewayPort),
        PALISADE_GATEWAY_DATA_DIR: this.gatewayDataDir,
      },
      channels: { PALISADE_CHANNELS_PORT: String(this.channelsPort), PALISADE_CHANNELS_FILE: channelsFile },
      approvals: { PALISADE_APPROVALS_GRANT_KEY_FILE: keyFileOf('approvals-grant') },
      'sandbox-exec': { PALISADE_SANDBOX_GRANT_PUBKEY_FILE: publicKeyFileOf('approvals-grant') },
      'llm-router': {
        PALISADE_OLLAMA_URL: ollamaUrl,
        PALISADE_OLLAMA_MODEL: this.options.ollamaModel ?? 'standin:latest',
        ...cloudEnv,
      },
      'credential-broker': brokerEnv,
      cron: {},
    };
    for (const service of SERVICE_NAMES) {
      const env = serviceEnv(service, { ...base[service], ...(this.options.env?.[service] ?? {}) });
      this.envs.set(service, env);
      this.procs.push(startServiceProcess(service, env));
    }
    // With an external model (the bench brings its own, started later) llm-router may be degraded at
    // first, and without a Passwords service the broker is: wait until they answer; the rest must be healthy.
    const answers = (s: string) =>
      waitFor(
        `${s} answers health`,
        async () =>
          (await this.admin.request(`health.${s}`, '', { timeout: 2_000 }).catch(() => undefined))
            ? true
            : undefined,
        60_000,
      );
    await Promise.all(
      SERVICE_NAMES.filter((s) => s !== 'gateway').map((s) =>
        (s === 'llm-router' && this.options.ollamaUrl) ||
        (s === 'credential-broker' && this.options.cloud === false)
          ? answers(s)
          : waitHealthy(this.admin, s, 60_000),
      ),
    );
    const caFile = join(this.gatewayDataDir, 'tls', 'ca.crt');
    await waitFor('gateway CA', async () => existsSync(caFile) || undefined, 30_000);
    this.gateway = new GatewayClient(this.gatewayPort, readFileSync(caFile, 'utf8'));
    await waitFor(
      'gateway https',
      async () =>
        ((await this.gateway.call('/healthz').catch(() => undefined))?.status ?? 0) > 0 || undefined,
      30_000,
    );
    // The gateway refuses everything but onboarding until an operator password exists.
    await this.cli(['auth', 'set-password', '--password-file', this.secretFile('operator-password', this.operatorPassword)]);
    this.operatorToken = (await this.createApiKey('e2e-operator', 'full-access')).key;
    return this;
  }

  /** The running process of one service. */
  proc(service: string): ServiceProcess {
    const proc = this.procs.find((p) => p.name === service);
    if (!proc) throw new Error(`no ${service} process in this stack`);
    return proc;
  }

  /**
   * Stops one service with `signal` (SIGTERM: graceful; SIGKILL: a crash) and starts it again with the
   * same environment; resolves once it answers health again (and, for the gateway, HTTPS).
   */
  async restart(service: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<ServiceProcess> {
    const old = this.proc(service);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') throw new Error('restart needs a signal that ends the process');
    await old.signal(signal);
    if (old.child.exitCode === null && old.child.signalCode === null) await old.stop();
    this.retired.push(old);
    const fresh = startServiceProcess(service, this.envs.get(service)!);
    this.procs[this.procs.indexOf(old)] = fresh;
    await waitFor(
      `${service} answers health after restart`,
      async () =>
        (await this.admin.request(`health.${service}`, '', { timeout: 2_000 }).catch(() => undefined))
          ? true
          : undefined,
      60_000,
      200,
    );
    if (service === 'gateway')
      await waitFor(
        'gateway https after restart',
        async () =>
          ((await this.gateway.call('/healthz').catch(() => undefined))?.status ?? 0) > 0 || undefined,
        30_000,
      );
    return fresh;
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    await Promise.all(
      [this.talk?.stop(), this.ollama?.stop(), this.cloud?.stop(), this.passwords?.stop()].map((p) =>
        p?.catch(() => undefined),
      ),
    );
    await this.admin?.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** All service output so far (for assertions that something never appears). */
  logs(): string {
    return [...this.retired, ...this.procs].map((p) => p.output()).join('\n');
  }

  /** An API key made the way an operator makes one: the CLI, on the gateway's own state. */
  async createApiKey(label: string, scopes: string[] | 'full-access'): Promise<{ id: string; key: string }> {
    const access = scopes === 'full-access' ? ['--full-access'] : ['--scopes', scopes.join(',')];
    const stdout = await this.cli(['auth', 'create-api-key', '--label', label, ...access, '--json']);
    return JSON.parse(stdout) as { id: string; key: string };
  }

  /** Runs the built `palisade` CLI against this stack's infrastructure; resolves with its stdout. */
  async cli(args: string[]): Promise<string> {
    const cli = join(repoRoot(), 'dist', 'libs', 'cli', 'src', 'main.js');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args], { env: process.env });
    return stdout;
  }

  async api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token = this.operatorToken,
  ): Promise<{ status: number; body: T }> {
    const res = await this.gateway.call(path, { method, key: token, body });
    return { status: res.status, body: res.json as T };
  }

  async admit(sender: string, level: 'read-only' | 'execute' | 'admin'): Promise<void> {
    const res = await this.api('POST', `/api/channels/${this.channel}/senders/admit`, { sender, level });
    if (res.status !== 200) throw new Error(`admit ${sender}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Events in EVENTS after `fromSeq` matching a predicate (read as admin, straight from the stream). */
  async eventsSince(
    fromSeq: number,
    match: (e: PalisadeEvent) => boolean = () => true,
  ): Promise<{ seq: number; event: PalisadeEvent }[]> {
    const out: { seq: number; event: PalisadeEvent }[] = [];
    const last = await this.store.lastSeq();
    for (let seq = fromSeq + 1; seq <= last; seq++) {
      const stored = await this.store.getBySeq(seq);
      if (stored && match(stored.event)) out.push({ seq, event: stored.event });
    }
    return out;
  }

  async waitForEvent(
    fromSeq: number,
    match: (e: PalisadeEvent) => boolean,
    timeoutMs = 30_000,
  ): Promise<PalisadeEvent> {
    return waitFor('event', async () => (await this.eventsSince(fromSeq, match))[0]?.event, timeoutMs, 200);
  }
}
