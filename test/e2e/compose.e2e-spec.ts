// The agent VM as operators run it: images built offline (scripts/build-images.sh), files prepared by
// scripts/compose-init.sh, `docker-compose --profile agent up -d`, every healthcheck green, the operator
// configured through the CLI inside the gateway container, a Talk sender admitted over HTTPS, one Talk
// turn with the stand-ins (on the host, reached through the Docker bridge address), then `down -v`
// leaves nothing behind. Also: `docker-compose config` accepts every profile and the file keeps its
// promises (no inline secrets, PostgreSQL unpublished, NATS on loopback by default, the Docker socket
// only in sandbox-exec). All of it twice: with Debian's Compose v1 (1.29) and with Compose v2 (the
// `docker compose` operators use; scripts/compose-v2.sh provides it, signature-verified, when missing).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { uuidv7 } from '@palisade/contracts';
import { connectNats } from '@palisade/nats';
import { freePort, GatewayClient, OllamaStandin, repoRoot, TalkStandin, waitFor } from '@palisade/testing';

const run = promisify(execFile);

interface ComposeImpl {
  name: string;
  /** Resolves the binary to run (v2 may have to be fetched first). */
  binary: () => Promise<string>;
  /** Container names: <project><sep><service><sep>1 (v1 uses "_", v2 "-"). */
  sep: string;
}
let v2Binary: Promise<string> | undefined;
const IMPLS: ComposeImpl[] = [
  { name: 'v1 (docker-compose 1.29)', binary: async () => 'docker-compose', sep: '_' },
  {
    name: 'v2',
    binary: () =>
      (v2Binary ??= run('bash', ['scripts/compose-v2.sh'], { cwd: repoRoot(), timeout: 600_000 }).then((r) =>
        r.stdout.trim(),
      )),
    sep: '-',
  },
];
// The images are built once for both Compose versions.
let imagesBuilt: Promise<number> | undefined;
const buildImages = () =>
  (imagesBuilt ??= (async () => {
    const t0 = Date.now();
    await run('bash', ['scripts/build-images.sh'], {
      cwd: repoRoot(),
      timeout: 1_200_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return Date.now() - t0;
  })());
const AGENT_SERVICES = [
  'ledger',
  'approvals',
  'sandbox-exec',
  'credential-broker',
  'llm-router',
  'cron',
  'channels',
  'gateway',
];

interface ComposeService {
  image?: string;
  ports?: (string | { published?: number | string; target?: number; host_ip?: string })[];
  environment?: Record<string, string | null>;
  volumes?: (string | { source?: string; target?: string })[];
  secrets?: (string | { source: string })[];
  networks?: Record<string, unknown> | string[];
}

async function composeWith(
  impl: ComposeImpl,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeout = 600_000,
): Promise<string> {
  const { stdout } = await run(await impl.binary(), args, {
    cwd: repoRoot(),
    env,
    timeout,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** Runs a command with the given stdin; resolves with stdout, rejects with stderr on failure. */
function withStdin(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`)),
    );
    child.stdin.end(input);
  });
}

const published = (s: ComposeService) =>
  (s.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.host_ip ?? ''}:${p.published}:${p.target}`));

describe.each(IMPLS)('Compose $name', (impl) => {
  const compose = (args: string[], env: NodeJS.ProcessEnv, timeout?: number) =>
    composeWith(impl, args, env, timeout);

  describe('docker-compose.yml', () => {
    const env = { ...process.env, PALISADE_DEPLOY_DIR: '/nonexistent/palisade-deploy' };

    test.each(['agent', 'nextcloud', 'ollama'])(
      '`docker-compose --profile %s config` validates',
      async (profile) => {
        const out = await compose(['--profile', profile, 'config'], env);
        expect(parse(out).services).toBeDefined();
      },
    );

    test('agent profile: secrets are files, PostgreSQL unpublished, NATS on loopback, the Docker socket only in sandbox-exec', async () => {
      const config = parse(await compose(['--profile', 'agent', 'config'], env)) as {
        services: Record<string, ComposeService>;
        secrets: Record<string, { file?: string }>;
      };
      const services = config.services;
      for (const name of [...AGENT_SERVICES, 'nats', 'postgres', 'setup'])
        expect(services[name]).toBeDefined();
      // Every secret is a file; no environment variable carries a password, seed or key value.
      for (const [name, secret] of Object.entries(config.secrets))
        expect({ name, file: typeof secret.file }).toEqual({ name, file: 'string' });
      for (const [name, service] of Object.entries(services)) {
        for (const [key, value] of Object.entries(service.environment ?? {})) {
          if (/(PASSWORD|SEED|SECRET|KEY|TOKEN)(_FILE)?$/.test(key))
            expect({ name, key, value }).toEqual({
              name,
              key,
              value: expect.stringMatching(/^\/run\/secrets\//),
            });
        }
      }
      expect(published(services.postgres)).toEqual([]);
      expect(published(services.nats)).toEqual([expect.stringMatching(/^127\.0\.0\.1:4222:4222(\/tcp)?$/)]);
      const withSocket = Object.entries(services)
        .filter(([, s]) =>
          (s.volumes ?? []).some((v) =>
            (typeof v === 'string' ? v : `${v.source}:${v.target}`).includes('docker.sock'),
          ),
        )
        .map(([name]) => name);
      expect(withSocket).toEqual(['sandbox-exec']);
      // PostgreSQL and the services that need nothing outside sit on the internal network only.
      for (const name of ['postgres', 'ledger', 'approvals', 'cron', 'sandbox-exec']) {
        const nets = Array.isArray(services[name].networks)
          ? services[name].networks
          : Object.keys(services[name].networks ?? {});
        expect({ name, nets }).toEqual({ name, nets: ['backend'] });
      }
    });
  });

  describe('Compose, profile agent: up, healthy, one Talk turn, down', () => {
    const project = `palisade-e2e-${uuidv7().slice(-8)}`;
    const deployDir = mkdtempSync(join(tmpdir(), 'palisade-compose-'));
    let env: NodeJS.ProcessEnv;
    let talk: TalkStandin;
    let ollama: OllamaStandin;
    let gateway: GatewayClient;
    let apiKey = '';
    let sandboxHost = '';
    let natsPublished = 0;
    const figures: Record<string, number> = {};

    const containers = async (all = false): Promise<string[]> =>
      (
        await run('docker', [
          'ps',
          ...(all ? ['-a'] : []),
          '-q',
          '--filter',
          `label=com.docker.compose.project=${project}`,
        ])
      ).stdout
        .split('\n')
        .filter(Boolean);
    const health = async (
      id: string,
    ): Promise<{ name: string; state: string; health: string; exit: number }> => {
      const { stdout } = await run('docker', [
        'inspect',
        '--format',
        '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}',
        id,
      ]);
      const [name, state, h, exit] = stdout.trim().split(' ');
      return { name: name.replace(/^\//, ''), state, health: h, exit: Number(exit) };
    };
    const container = (service: string) => `${project}${impl.sep}${service}${impl.sep}1`;

    beforeAll(async () => {
      figures.buildImagesMs = await buildImages();

      // The stand-ins listen on the Docker bridge address: containers reach it as host.docker.internal.
      const bridge = (
        await run('docker', [
          'network',
          'inspect',
          'bridge',
          '--format',
          '{{(index .IPAM.Config 0).Gateway}}',
        ])
      ).stdout.trim();
      const [talkPort, gatewayPort, channelsPort, natsPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      natsPublished = natsPort;
      const talkUrl = `http://host.docker.internal:${talkPort}`;
      ollama = new OllamaStandin({ host: bridge });
      await ollama.start();
      ollama.setHandler((request) => ({
        content: `You said: ${request.messages[request.messages.length - 1].content}`,
      }));
      const ollamaPort = new URL(ollama.url).port;

      env = {
        ...process.env,
        PALISADE_DEPLOY_DIR: deployDir,
        PALISADE_TALK_URL: talkUrl,
        PALISADE_GATEWAY_BIND: '127.0.0.1',
        PALISADE_GATEWAY_PUBLISH_PORT: String(gatewayPort),
        PALISADE_CHANNELS_BIND: '127.0.0.1',
        PALISADE_CHANNELS_PUBLISH_PORT: String(channelsPort),
        PALISADE_NATS_PUBLISH_PORT: String(natsPort),
        PALISADE_OLLAMA_URL: `http://host.docker.internal:${ollamaPort}`,
        PALISADE_OLLAMA_MODEL: 'standin:latest',
      };
      await run('bash', ['scripts/compose-init.sh'], { cwd: repoRoot(), env });
      const botSecret = readFileSync(join(deployDir, 'secrets', 'talk-bot-secret'), 'utf8').trim();
      talk = new TalkStandin({
        host: bridge,
        port: talkPort,
        backendUrl: talkUrl,
        // The webhook is HTTPS with a certificate from the deployment's local CA, which "Nextcloud" trusts.
        bots: [
          {
            name: 'palisade',
            secret: botSecret,
            url: `https://localhost:${channelsPort}/webhooks/talk/talk-main`,
          },
        ],
        webhookCa: readFileSync(join(deployDir, 'tls', 'ca.crt')),
      });
      await talk.start();

      const args = ['--env-file', join(deployDir, 'compose.env'), '-p', project, '--profile', 'agent'];
      env.COMPOSE_ARGS = args.join(' ');
      const t1 = Date.now();
      await compose([...args, 'up', '-d'], env);
      // Every container healthy (setup: exited 0).
      await waitFor(
        'every healthcheck green',
        async () => {
          const states = await Promise.all((await containers(true)).map(health));
          const bad = states.filter((s) =>
            s.name.includes(`${impl.sep}setup${impl.sep}`)
              ? s.state !== 'exited' || s.exit !== 0
              : s.health !== 'healthy',
          );
          return states.length === AGENT_SERVICES.length + 3 && bad.length === 0 ? states : undefined;
        },
        300_000,
        1_000,
      );
      figures.upToHealthyMs = Date.now() - t1;

      // Sandboxes that sandbox-exec starts carry its host name (the container's) as a label.
      sandboxHost = (
        await run('docker', ['inspect', '--format', '{{.Config.Hostname}}', container('sandbox-exec')])
      ).stdout.trim();
      // One CA for the deployment: the gateway's certificate comes from compose-init's local CA too.
      gateway = new GatewayClient(gatewayPort, readFileSync(join(deployDir, 'tls', 'ca.crt'), 'utf8'));
      // The operator's first steps, with the CLI inside the gateway container.
      const password = `pw-${uuidv7()}-${Math.random().toString(36).slice(2)}`;
      await withStdin(
        'docker',
        ['exec', '-i', container('gateway'), 'sh', '-c', 'umask 077; cat > /tmp/operator-password'],
        password,
      );
      await run('docker', [
        'exec',
        container('gateway'),
        'palisade',
        'auth',
        'set-password',
        '--password-file',
        '/tmp/operator-password',
      ]);
      await run('docker', ['exec', container('gateway'), 'rm', '/tmp/operator-password']);
      const created = await run('docker', [
        'exec',
        container('gateway'),
        'palisade',
        'auth',
        'create-api-key',
        '--label',
        'compose-e2e',
        '--full-access',
        '--json',
      ]);
      apiKey = (JSON.parse(created.stdout) as { key: string }).key;
    }, 1_500_000);

    afterAll(async () => {
      try {
        if (env?.COMPOSE_ARGS)
          await compose([...env.COMPOSE_ARGS.split(' '), 'down', '-v', '--remove-orphans'], env).catch(
            () => undefined,
          );
      } finally {
        await talk?.stop().catch(() => undefined);
        await ollama?.stop().catch(() => undefined);
        rmSync(deployDir, { recursive: true, force: true });
        console.log(`compose e2e figures (${impl.name}): ${JSON.stringify(figures)}`);
      }
    }, 300_000);

    test('the gateway serves HTTPS only, with a certificate from the deployment CA, and reports every service', async () => {
      const res = await gateway.call('/healthz');
      // 503 = degraded: here the credential broker has no Nextcloud Passwords configured, and says so.
      expect([200, 503]).toContain(res.status);
      for (const s of AGENT_SERVICES.filter((s) => s !== 'gateway'))
        expect(Object.keys(res.json.services)).toContain(s);
      // Plain HTTP on the same port gets no API answer.
      const plain = await fetch(`http://127.0.0.1:${gateway.port}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
      expect(plain === 0 || plain >= 400).toBe(true);
    });

    test('an admitted Talk sender gets a signed reply through the containers', async () => {
      const admitted = await gateway.call('/api/channels/talk-main/senders/admit', {
        method: 'POST',
        key: apiKey,
        body: { sender: 'users/alice', level: 'read-only' },
      });
      expect(admitted.status).toBe(200);
      // Without a key the same request is refused.
      const anonymous = await gateway.call('/api/channels/talk-main/senders/admit', {
        method: 'POST',
        body: { sender: 'users/mallory', level: 'admin' },
      });
      expect(anonymous.status).toBe(401);

      const token = `room-${uuidv7().slice(-12)}`;
      talk.addConversation({ token });
      talk.enableBot('palisade', token);
      const t0 = Date.now();
      const sent = await talk.sendMessage({
        conversationToken: token,
        actorId: 'users/alice',
        text: 'hello from compose',
        bot: 'palisade',
      });
      expect(sent.status).toBe(200);
      // The stand-in records a bot message only when its signature verified with the bot secret.
      const reply = await waitFor(
        'signed reply',
        () =>
          talk
            .botMessages(token)
            .map((m) => m.message)
            .find((m) => /You said: hello from compose/.test(m)),
        60_000,
        50,
      );
      figures.talkTurnMs = Date.now() - t0;
      expect(reply).toContain('hello from compose');
    });

    test('the SOC subscribes to audit records over TLS as the read-only soc user; plain NATS is refused', async () => {
      const seed = readFileSync(join(deployDir, 'secrets', 'nats', 'soc.nk'), 'utf8').trim();
      const caFile = join(deployDir, 'tls', 'ca.crt');
      // Without TLS the server refuses the connection (it requires TLS of every client).
      await expect(
        connectNats({ user: 'soc', url: `nats://localhost:${natsPublished}`, seed, reconnect: false }),
      ).rejects.toThrow();
      const soc = await connectNats({
        user: 'soc',
        url: `tls://localhost:${natsPublished}`,
        caFile,
        seed,
        reconnect: false,
      });
      try {
        const received: string[] = [];
        const sub = soc.subscribe('audit.>', { callback: (_err, msg) => void received.push(msg.subject) });
        await soc.flush();
        // Admitting a sender is an audited state change: its record reaches the SOC live.
        const admitted = await gateway.call('/api/channels/talk-main/senders/admit', {
          method: 'POST',
          key: apiKey,
          body: { sender: 'users/bob', level: 'read-only' },
        });
        expect(admitted.status).toBe(200);
        const subject = await waitFor(
          'an audit record on the SOC feed',
          () => received.find((s) => s.startsWith('audit.')),
          30_000,
          100,
        );
        expect(subject).toMatch(/^audit\./);
        sub.unsubscribe();
      } finally {
        await soc.close();
      }
    });

    test('down -v leaves no container, network or volume of the project', async () => {
      await compose([...env.COMPOSE_ARGS!.split(' '), 'down', '-v', '--remove-orphans'], env);
      expect(await containers(true)).toEqual([]);
      const label = `label=com.docker.compose.project=${project}`;
      expect((await run('docker', ['network', 'ls', '-q', '--filter', label])).stdout.trim()).toBe('');
      expect((await run('docker', ['volume', 'ls', '-q', '--filter', label])).stdout.trim()).toBe('');
      // Sandboxes (pool containers and their volumes) that sandbox-exec started went with it.
      const sandboxes = `label=palisade.instance.host=${sandboxHost}`;
      expect(sandboxHost).not.toBe('');
      expect((await run('docker', ['ps', '-aq', '--filter', sandboxes])).stdout.trim()).toBe('');
      expect((await run('docker', ['volume', 'ls', '-q', '--filter', sandboxes])).stdout.trim()).toBe('');
      delete env.COMPOSE_ARGS;
    });
  });
});
