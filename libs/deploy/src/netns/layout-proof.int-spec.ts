// THE PROOF of vm-layout/layout.yaml with real traffic. Network namespaces stand in for the three VMs
// (nextcloud, agent, ollama) and the outside networks (operator, admin, soc, internet), routed by a
// router namespace. Each VM namespace loads its nftables ruleset generated from the layout. On the
// agent VM, a "container" namespace behind docker0 plays the Compose network: the real nats-server
// (TLS from a local CA), PostgreSQL, and the real gateway, channels, llm-router and ledger run there,
// published the way Docker publishes ports (DNAT in Docker's own table) — so the forward chain that
// guards published ports is what is proven. Nextcloud's VM runs the Talk stand-in on 443 (HTTPS),
// Ollama's VM the Ollama stand-in. A full Talk turn crosses both firewalls: webhook in, "waiting"
// notice out, the operator admits the sender through the gateway's API with a scoped key, the model
// answers on the Ollama VM, the signed reply reaches Talk. The sandbox egress proxy runs with the
// layout's sandbox_egress as its allowlist. Every allowed flow must work; every other flow must fail
// AND be counted by a palisade drop counter. The full matrix is printed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { inboxPrefixFor, NATS_PRINCIPALS, renderNatsServerConfig } from '@palisade/nats';
import { createTestCa, type TestCa } from '@palisade/testing';
import { EGRESS_PROXY_SCRIPT } from '../../../../services/sandbox-exec/src/sandbox/egress-proxy.script';
import { ensureSecrets, publicNkeyOf } from '../../../cli/src/infra/secrets';
import { keyFile, natsSeedFile, pgPasswordFile } from '../../../cli/src/paths';
import { loadLayout, nftRuleset, sandboxAllowlistOf, sandboxAllowlistProblems, type Layout } from '../index';
import { NetnsLab, type NsWorker } from './netns-lab';

const repo = join(__dirname, '..', '..', '..', '..');
const CLOUD = '203.0.113.7';
const OTHER_INTERNET = '198.51.100.99';
/** The one host of the layout's sandbox_egress in this proof (an address: there is no DNS here). */
const SANDBOX_DEST = '203.0.113.8';
const CONTAINER = '10.99.0.2';
const TALK_SECRET = 'talk-bot-secret-for-the-netns-proof-0123456789abcdef';
const TALK_ROOM = 'netnsroom';
const OPERATOR_PASSWORD = 'netns-proof operator password 0123456789';
/** Published ports of the Compose network (DNAT, as Docker does); 5432 is published by mistake. */
const PUBLISHED = [18443, 18788, 4222, 5432];
/** The proxy's allowlist: the layout's host plus one the layout does not have (drift the firewall must catch). */
const PROXY_ALLOW = [`${SANDBOX_DEST}:443`, `${OTHER_INTERNET}:443`];
const run = promisify(execFile);
const pgBin = () => `/usr/lib/postgresql/${readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop()}/bin`;

interface Check {
  connectOnly?: boolean;
  from: string;
  to: string;
  host: string;
  port: number;
  proto: 'tcp' | 'udp';
  allowed: boolean;
  what: string;
  tls?: boolean;
}

interface Row {
  check: Check;
  ok: boolean;
  passed: boolean;
  detail: string;
}

/** Resolves once a started process prints `marker` (stdout or stderr); rejects with its output if it exits first. */
function untilOutput(child: ChildProcess, marker: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(marker)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${log}`)));
  });
}

function postgresIds(): [number, number] {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: run scripts/infra.sh up first (it installs PostgreSQL)');
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

describe('the layout holds with real traffic between network namespaces (root)', () => {
  const lab = new NetnsLab();
  const workers = new Map<string, NsWorker>();
  const dir = mkdtempSync(join(tmpdir(), 'palisade-netns-'));
  let layout: Layout;
  let ca: TestCa;
  const seeds: Record<string, string> = {};
  const home = join(dir, 'home');
  const pgDir = join(dir, 'pg');
  let pgStarted = false;
  let operatorKey = '';
  const cli = join(repo, 'dist', 'libs', 'cli', 'src', 'main.js');
  // What every Palisade process in the Compose network is told (as Compose's environment would).
  const baseEnv = (): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PALISADE_HOME: home,
    PALISADE_NATS_URL: 'tls://127.0.0.1:4222',
    PALISADE_NATS_CA_FILE: ca.caCertPath,
    PALISADE_PG_HOST: '127.0.0.1',
    PALISADE_PG_PORT: '5432',
    PALISADE_PG_DATABASE: 'palisade',
  });
  const serviceEnv = (service: string, extra: Record<string, string>): Record<string, string> => ({
    ...baseEnv(),
    PALISADE_NATS_SEED_FILE: seeds[service],
    PALISADE_PG_USER: `palisade_${service.replace(/-/g, '_')}`,
    PALISADE_PG_PASSWORD_FILE: pgPasswordFile(`palisade_${service.replace(/-/g, '_')}`, home),
    ...extra,
  });
  const serviceLogs = new Map<string, string>();
  const startService = (service: string, extra: Record<string, string>) => {
    const child = lab.spawnIn('container', process.execPath, ['--enable-source-maps', join(repo, 'dist', 'services', service, 'src', 'main.js')], {
      cwd: repo,
      env: serviceEnv(service, extra),
    });
    serviceLogs.set(service, '');
    const keep = (chunk: Buffer) => serviceLogs.set(service, (serviceLogs.get(service)! + chunk.toString()).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  };
  const inContainer = (args: string[]) =>
    run('ip', ['netns', 'exec', lab.hosts.get('container')!.ns, process.execPath, cli, ...args], { env: baseEnv(), timeout: 90_000 });
  const waitListening = async (port: number, what: string) => {
    for (let i = 0; ; i++) {
      const up = await workers.get('container')!.call({ op: 'probe', proto: 'tcp', host: '127.0.0.1', port, connectOnly: true, timeoutMs: 1000 });
      if (up.ok) return;
      if (i > 180) throw new Error(`${what} did not listen on ${port} within 90 s:\n${[...serviceLogs.entries()].map(([n, l]) => `--- ${n}\n${l.slice(-3000)}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(async () => {
    // The shipped layout, with one cloud endpoint and one sandbox egress destination configured, so the
    // "only when configured" rules are exercised.
    const shipped = loadLayout();
    layout = {
      ...shipped,
      cloud_endpoints: [{ name: 'test-cloud', host: 'cloud.test', cidrs: [`${CLOUD}/32`] }],
      sandbox_egress: [{ name: 'packages', host: SANDBOX_DEST, cidrs: [`${SANDBOX_DEST}/32`] }],
    };
    const vm = (name: string) => layout.vms[name].address;
    const net = (name: string, host: number) => {
      const [base, bits] = layout.networks[name].cidrs[0].split('/');
      const prefix = base.split('.').slice(0, 3).join('.');
      return { cidr: `${prefix}.${host}/${bits}`, router: `${prefix}.1/${bits}` };
    };
    ca = await createTestCa(join(dir, 'ca'), { extraSans: [vm('nextcloud'), vm('agent'), vm('ollama'), CLOUD, SANDBOX_DEST, CONTAINER] });

    await lab.createRouter(`${layout.private_network.cidr.split('/')[0].replace(/\.0$/, '.1')}/${layout.private_network.cidr.split('/')[1]}`);
    const gateway = layout.private_network.cidr.split('/')[0].replace(/\.0$/, '.1');
    for (const name of ['nextcloud', 'agent', 'ollama']) await lab.addBridged(name, `${vm(name)}/${layout.private_network.cidr.split('/')[1]}`, gateway);
    for (const name of ['operator', 'admin', 'soc']) {
      const n = net(name, 10);
      await lab.addRouted(name, n.cidr, n.router);
    }
    await lab.addRouted('internet', '198.51.100.10/24', '198.51.100.1/24', [...layout.dns_resolvers, CLOUD, SANDBOX_DEST, OTHER_INTERNET]);
    await lab.defaultRouteVia('internet');
    // The Compose network behind the agent's docker0, its ports published the way Docker does it (DNAT in
    // prerouting, masquerade on the way out) — in Docker's own table, not ours.
    await lab.addContainer('container', 'agent', 'docker0', '10.99.0.1/24', `${CONTAINER}/24`);
    const dockerLike = [
      'table ip dockersim {',
      '  chain prerouting { type nat hook prerouting priority dstnat; policy accept;',
      ...PUBLISHED.map((port) => `    iifname != "docker0" tcp dport ${port} dnat to ${CONTAINER}:${port}`),
      '  }',
      '  chain postrouting { type nat hook postrouting priority srcnat; policy accept;',
      '    ip saddr 10.99.0.0/24 oifname != "docker0" masquerade',
      '  }',
      '}',
    ].join('\n');
    await lab.nft('agent', dockerLike);

    for (const name of ['nextcloud', 'agent', 'ollama', 'operator', 'admin', 'soc', 'internet', 'container']) {
      workers.set(name, await lab.worker(name, repo));
    }
    const tlsFiles = { cert: ca.certPath, key: ca.keyPath };
    const listen = async (name: string, proto: 'tcp' | 'udp', port: number, tls = false, host = '0.0.0.0') => {
      const reply = await workers.get(name)!.call({ op: 'listen', proto, port, host, ...(tls ? { tls: tlsFiles } : {}) });
      if (!reply.ok) throw new Error(`listen ${name} ${proto}/${port}: ${reply.detail}`);
    };
    // Listeners bind 0.0.0.0: only the firewall decides who gets through.
    // Nextcloud: Talk (the protocol-faithful stand-in) over HTTPS on 443, Palisade's bot enabled in one room.
    const talk = await workers.get('nextcloud')!.call({
      op: 'talk-standin',
      port: 443,
      host: '0.0.0.0',
      backendUrl: `https://${vm('nextcloud')}/`,
      tls: tlsFiles,
      secret: TALK_SECRET,
      url: `https://${vm('agent')}:18788/webhooks/talk/talk-main`,
      token: TALK_ROOM,
      ca: ca.caCertPath,
    });
    if (!talk.ok) throw new Error(`Talk stand-in: ${talk.detail}`);
    await listen('nextcloud', 'tcp', 22);
    await listen('nextcloud', 'tcp', 5432);
    await listen('agent', 'tcp', 22);
    await listen('container', 'tcp', 5432, false, CONTAINER); // stands for PostgreSQL published by mistake as agent:5432
    // Ollama: the protocol-faithful stand-in, listening on the VM's address.
    const ollama = await workers.get('ollama')!.call({ op: 'ollama-standin', port: 11434, host: '0.0.0.0', models: ['standin:latest'] });
    if (!ollama.ok) throw new Error(`Ollama stand-in: ${ollama.detail}`);
    await listen('ollama', 'tcp', 22);
    await listen('internet', 'tcp', 443, true);
    await listen('internet', 'tcp', 53);
    // UDP answers leave from the address bound: bind each resolver address (and one that is not a resolver).
    for (const address of [...layout.dns_resolvers, '198.51.100.10']) await listen('internet', 'udp', 53, false, address);
    await listen('internet', 'udp', 123);
    for (const name of ['operator', 'admin', 'soc']) await listen(name, 'tcp', 2222);

    // The real nats-server, TLS with a certificate from the local CA, the manifest's users.
    // Secrets as `palisade infra secrets` makes them (nkeys, PostgreSQL passwords, signing keys).
    ensureSecrets(home);
    const nkeys: Record<string, string> = {};
    for (const user of NATS_PRINCIPALS) {
      nkeys[user] = publicNkeyOf(user, home);
      seeds[user] = natsSeedFile(user, home);
    }
    const conf = join(dir, 'nats.conf');
    writeFileSync(
      conf,
      renderNatsServerConfig({ host: '0.0.0.0', port: 4222, monitorPort: 8222, storeDir: join(dir, 'js'), nkeys, tls: { certFile: ca.certPath, keyFile: ca.keyPath } }),
    );
    const nats = lab.spawnIn('container', 'nats-server', ['-c', conf]);
    await untilOutput(nats, 'Server is ready', 'nats-server');

    for (const name of ['nextcloud', 'agent', 'ollama']) await lab.nft(name, nftRuleset(layout, name));

    // PostgreSQL in the Compose network (loopback there), streams/roles/schemas by `palisade infra setup`.
    chmodSync(dir, 0o711);
    mkdirSync(pgDir, { mode: 0o700 });
    chownSync(pgDir, ...postgresIds());
    copyFileSync(join(home, 'secrets', 'pg', 'postgres.pw'), join(pgDir, 'pw'));
    chownSync(join(pgDir, 'pw'), ...postgresIds());
    const asPostgres = (command: string) => run('ip', ['netns', 'exec', lab.hosts.get('container')!.ns, 'su', 'postgres', '-s', '/bin/sh', '-c', command], { timeout: 90_000 });
    await asPostgres(`'${pgBin()}/initdb' -D '${pgDir}/data' -U postgres --pwfile='${pgDir}/pw' --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null`);
    await asPostgres(`'${pgBin()}/pg_ctl' -D '${pgDir}/data' -l '${pgDir}/log' -w -t 60 -o "-p 5432 -k '${pgDir}' -c listen_addresses=127.0.0.1" start >/dev/null`);
    pgStarted = true;
    await inContainer(['infra', 'setup', '--nats', 'tls://127.0.0.1:4222', '--pg-host', '127.0.0.1', '--pg-port', '5432']);

    // The real services, each terminating its own TLS with a certificate from the local CA.
    writeFileSync(join(dir, 'talk.secret'), TALK_SECRET, { mode: 0o600 });
    writeFileSync(join(dir, 'channels.json'), JSON.stringify([{ name: 'talk-main', kind: 'talk', baseUrl: `https://${vm('nextcloud')}`, secretFile: join(dir, 'talk.secret') }]));
    startService('ledger', { PALISADE_LEDGER_KEY_FILE: keyFile('ledger-checkpoint', home) });
    startService('channels', {
      PALISADE_CHANNELS_HOST: '0.0.0.0',
      PALISADE_CHANNELS_PORT: '18788',
      PALISADE_CHANNELS_TLS_CERT_FILE: ca.certPath,
      PALISADE_CHANNELS_TLS_KEY_FILE: ca.keyPath,
      PALISADE_CHANNELS_FILE: join(dir, 'channels.json'),
      NODE_EXTRA_CA_CERTS: ca.caCertPath, // Nextcloud's certificate comes from the same CA here
    });
    startService('llm-router', {
      PALISADE_OLLAMA_URL: `http://${vm('ollama')}:11434`,
      PALISADE_OLLAMA_MODEL: 'standin:latest',
      PALISADE_OLLAMA_TIMEOUT_MS: '10000',
    });
    startService('gateway', {
      PALISADE_GATEWAY_HOST: '0.0.0.0',
      PALISADE_GATEWAY_PORT: '18443',
      PALISADE_GATEWAY_DATA_DIR: join(dir, 'gateway'),
      PALISADE_GATEWAY_TLS_CERT_FILE: ca.certPath,
      PALISADE_GATEWAY_TLS_KEY_FILE: ca.keyPath,
    });
    // The sandbox egress proxy (the same program sandbox-exec runs in its proxy container), allowlisting
    // the layout's sandbox_egress host — and, as drift, one host the layout does not have.
    const proxy = lab.spawnIn('container', 'python3', ['-c', EGRESS_PROXY_SCRIPT, '3128', '5353', ...PROXY_ALLOW], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    await untilOutput(proxy, '"ready"', 'egress proxy');
    await waitListening(18788, 'channels');
    await waitListening(18443, 'gateway');

    // The operator password and a scoped API key, made with the CLI as an operator does on the agent VM.
    writeFileSync(join(dir, 'operator.pw'), OPERATOR_PASSWORD, { mode: 0o600 });
    await inContainer(['auth', 'set-password', '--password-file', join(dir, 'operator.pw')]);
    const made = await inContainer(['auth', 'create-api-key', '--label', 'netns-proof', '--scopes', 'operator.read,operator.pairing', '--json']);
    operatorKey = (JSON.parse(made.stdout) as { key: string }).key;
  }, 300_000);

  afterAll(async () => {
    for (const worker of workers.values()) worker.stop();
    if (pgStarted) {
      await run('ip', ['netns', 'exec', lab.hosts.get('container')!.ns, 'su', 'postgres', '-s', '/bin/sh', '-c', `'${pgBin()}/pg_ctl' -D '${pgDir}/data' -m immediate -w stop`]).catch(() => undefined);
    }
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    expect(await lab.leftovers()).toEqual([]);
  });

  it('every allowed flow works, every other flow is dropped and counted; a Talk turn crosses both firewalls; prints the matrix', async () => {
    const vm = (name: string) => layout.vms[name].address;
    const external = (name: string) => lab.hosts.get(name)!.address;
    const allow = (from: string, to: string, host: string, port: number, what: string, proto: 'tcp' | 'udp' = 'tcp', tls = false): Check => ({ from, to, host, port, proto, allowed: true, what, tls });
    const deny = (from: string, to: string, host: string, port: number, what: string, proto: 'tcp' | 'udp' = 'tcp'): Check => ({ from, to, host, port, proto, allowed: false, what });
    const checks: Check[] = [
      allow('operator', 'agent', vm('agent'), 18443, 'gateway HTTPS (real gateway, Docker-published)', 'tcp', true),
      allow('operator', 'nextcloud', vm('nextcloud'), 443, 'Nextcloud HTTPS', 'tcp', true),
      allow('nextcloud', 'agent', vm('agent'), 18788, 'Talk webhook → channels HTTPS (real, Docker-published)', 'tcp', true),
      allow('agent', 'nextcloud', vm('nextcloud'), 443, 'Talk reply / Passwords HTTPS', 'tcp', true),
      allow('agent', 'ollama', vm('ollama'), 11434, 'llm-router → Ollama'),
      allow('container', 'ollama', vm('ollama'), 11434, 'llm-router in a container → Ollama (forward + masquerade)'),
      allow('container', 'nextcloud', vm('nextcloud'), 443, 'channels in a container → Talk HTTPS (forward + masquerade)', 'tcp', true),
      allow('soc', 'agent', vm('agent'), 4222, 'NATS TLS handshake (Docker-published)', 'tcp'),
      allow('admin', 'nextcloud', vm('nextcloud'), 22, 'SSH'),
      allow('admin', 'agent', vm('agent'), 22, 'SSH'),
      allow('admin', 'ollama', vm('ollama'), 22, 'SSH'),
      allow('agent', 'internet', CLOUD, 443, 'configured cloud model endpoint HTTPS', 'tcp', true),
      allow('container', 'internet', SANDBOX_DEST, 443, 'sandbox_egress destination HTTPS (the proxy container’s way out)', 'tcp', true),
      allow('agent', 'internet', layout.dns_resolvers[0], 53, 'DNS to the configured resolver', 'udp'),
      allow('agent', 'internet', layout.dns_resolvers[0], 53, 'DNS over TCP to the configured resolver'),
      allow('agent', 'internet', '198.51.100.10', 123, 'NTP', 'udp'),
      allow('nextcloud', 'internet', layout.dns_resolvers[0], 53, 'DNS to the configured resolver', 'udp'),
      allow('nextcloud', 'internet', '198.51.100.10', 123, 'NTP', 'udp'),

      deny('ollama', 'internet', '198.51.100.10', 443, 'Ollama egress to the internet'),
      deny('ollama', 'internet', layout.dns_resolvers[0], 53, 'Ollama DNS', 'udp'),
      deny('ollama', 'agent', vm('agent'), 18443, 'Ollama → gateway'),
      deny('ollama', 'nextcloud', vm('nextcloud'), 443, 'Ollama → Nextcloud'),
      deny('nextcloud', 'agent', vm('agent'), 4222, 'Nextcloud → NATS (Docker-published)'),
      deny('nextcloud', 'agent', vm('agent'), 5432, 'Nextcloud → PostgreSQL (Docker-published by mistake)'),
      deny('nextcloud', 'agent', vm('agent'), 18443, "Nextcloud → gateway's operator API"),
      deny('nextcloud', 'ollama', vm('ollama'), 11434, 'Nextcloud → Ollama'),
      deny('nextcloud', 'internet', '198.51.100.10', 443, 'Nextcloud → internet HTTPS'),
      deny('internet', 'agent', vm('agent'), 18443, 'internet → gateway (Docker-published)'),
      deny('internet', 'agent', vm('agent'), 18788, 'internet → channels webhook'),
      deny('internet', 'agent', vm('agent'), 22, 'internet → agent SSH'),
      deny('internet', 'nextcloud', vm('nextcloud'), 443, 'internet → Nextcloud'),
      deny('internet', 'ollama', vm('ollama'), 11434, 'internet → Ollama'),
      deny('operator', 'agent', vm('agent'), 4222, 'operator → NATS'),
      deny('operator', 'agent', vm('agent'), 5432, 'operator → PostgreSQL (Docker-published by mistake)'),
      deny('operator', 'ollama', vm('ollama'), 11434, 'operator → Ollama'),
      deny('soc', 'agent', vm('agent'), 18443, 'SOC → gateway'),
      deny('soc', 'agent', vm('agent'), 8222, 'SOC → NATS monitoring port'),
      deny('admin', 'agent', vm('agent'), 18443, 'admin network → gateway'),
      deny('agent', 'internet', OTHER_INTERNET, 443, 'agent → a host that is neither a cloud endpoint nor sandbox_egress'),
      deny('agent', 'internet', '198.51.100.10', 53, 'agent DNS to a resolver not configured (exfiltration)', 'udp'),
      deny('agent', 'operator', external('operator'), 2222, 'agent → operator network'),
      deny('agent', 'ollama', vm('ollama'), 22, 'agent → Ollama SSH'),
      deny('container', 'internet', OTHER_INTERNET, 443, 'container egress to the internet (forward)'),
    ];

    // HTTP(S) servers send no greeting: a completed TCP (or verified TLS) handshake is the answer there.
    for (const check of checks) if ([11434, 18788, 18443].includes(check.port) || (check.port === 443 && check.host === vm('nextcloud'))) check.connectOnly = true;
    const vms = new Set(['nextcloud', 'agent', 'ollama']);
    const counterHolders = (check: Check) => [check.from === 'container' ? 'agent' : check.from, check.to].filter((n) => vms.has(n));
    const dropsAcross = async (holders: string[]) => (await Promise.all(holders.map((n) => lab.dropCount(n)))).reduce((a, b) => a + b, 0);
    const rows: Row[] = [];
    for (const check of checks) {
      const holders = counterHolders(check);
      const before = await dropsAcross(holders);
      const reply = await workers.get(check.from)!.call({
        op: 'probe',
        proto: check.proto,
        host: check.host,
        port: check.port,
        timeoutMs: check.allowed ? 5000 : 1000,
        ...(check.tls ? { ca: ca.caCertPath } : {}),
        ...(check.connectOnly ? { connectOnly: true } : {}),
      });
      const dropped = (await dropsAcross(holders)) - before;
      const passed = check.allowed ? reply.ok : !reply.ok && dropped > 0;
      rows.push({ check, ok: reply.ok, passed, detail: `${reply.detail ?? ''}${check.allowed ? '' : `; drop counters +${dropped} (${holders.join(', ')})`}` });
    }

    const nextcloud = workers.get('nextcloud')!;
    const operator = workers.get('operator')!;
    const container = workers.get('container')!;
    const soc = workers.get('soc')!;
    const extra: Array<{ allowed: boolean; passed: boolean; path: string; what: string; detail?: string }> = [];
    const record = (allowed: boolean, passed: boolean, path: string, what: string, detail?: string) => extra.push({ allowed, passed, path, what, detail });

    // The SOC subscribes to audit.> over TLS from the soc network as the read-only soc user, before the turn.
    const socTls = await soc.call({ op: 'nats-connect', key: 'soc', url: `tls://${vm('agent')}:4222`, seed: seeds.soc, user: 'soc', inboxPrefix: inboxPrefixFor('soc'), caFile: ca.caCertPath });
    const subscribed = socTls.ok ? await soc.call({ op: 'nats-subscribe', key: 'soc', subject: 'audit.>' }) : socTls;

    // The operator's API across the firewall: a scoped key works, no key is refused by the gateway.
    const api = (path: string, method = 'GET', body?: unknown, key: string | null = operatorKey) =>
      operator.call({ op: 'https-request', url: `https://${vm('agent')}:18443${path}`, method, body, ca: ca.caCertPath, headers: key ? { authorization: `Bearer ${key}` } : {} });
    const status = await api('/api/channels/senders');
    record(true, status.ok, 'operator → agent gateway (real) :18443', 'GET /api/channels/senders with a scoped key', status.detail);
    const anonymous = await api('/api/channels/senders', 'GET', undefined, null);
    record(false, /^HTTP 401/.test(anonymous.detail ?? ''), 'operator → agent gateway (real), no key', 'refused by the gateway', anonymous.detail);

    // A full Talk turn. 1: an unknown sender writes; channels answers "waiting" — the reply crosses the
    // agent's forward chain and Nextcloud's input chain, signed with the bot secret, from the agent's address.
    const sender = 'users/netns-alice';
    const count = async () => Number((await nextcloud.call({ op: 'talk-reply-count' })).detail);
    let seen = await count();
    const first = await nextcloud.call({ op: 'talk-send', token: TALK_ROOM, actorId: sender, text: 'hello agent' });
    const waiting = first.ok ? await nextcloud.call({ op: 'talk-wait-reply', token: TALK_ROOM, after: seen, timeoutMs: 20_000 }) : first;
    const waitingReply = waiting.ok ? (JSON.parse(waiting.detail!) as { ip: string; message: string }) : undefined;
    record(true, first.ok, 'nextcloud Talk → agent channels (real) :18788', 'signed webhook accepted over HTTPS', first.detail);
    const waitingOk = !!waitingReply && /waiting for an operator/.test(waitingReply.message) && waitingReply.ip === vm('agent');
    record(true, waitingOk, 'agent channels (real) → nextcloud Talk :443', 'signed "waiting" notice to an unknown sender, from the agent VM', waiting.detail);
    // 2: the operator admits the sender through the gateway (operator.pairing key), from the operator network.
    const admitted = await api('/api/channels/talk-main/senders/admit', 'POST', { sender, level: 'read-only' });
    record(true, admitted.ok, 'operator → agent gateway (real) :18443', 'admit the sender (operator.pairing key)', admitted.detail);
    // 3: the sender writes again; the turn runs gateway → llm-router → Ollama on its VM → channels → Talk.
    const question = `netns proof ${Date.now()}: what is six times seven?`;
    seen = await count();
    const second = await nextcloud.call({ op: 'talk-send', token: TALK_ROOM, actorId: sender, text: question });
    const answer = second.ok ? await nextcloud.call({ op: 'talk-wait-reply', token: TALK_ROOM, after: seen, timeoutMs: 30_000 }) : second;
    const answerReply = answer.ok ? (JSON.parse(answer.detail!) as { ip: string; message: string }) : undefined;
    const turnOk = !!answerReply && answerReply.message.includes(question) && answerReply.ip === vm('agent');
    record(true, turnOk, 'Talk → channels → gateway → llm-router → Ollama → Talk', 'a full turn: the model (on the Ollama VM) answers in Talk', answer.detail);
    // A forged webhook reaches channels (the firewall allows Nextcloud) and is refused there: 401.
    const forged = await nextcloud.call({ op: 'talk-send', token: TALK_ROOM, actorId: sender, text: 'forged', wrongSignature: true });
    record(false, !forged.ok && /^HTTP 401/.test(forged.detail ?? ''), 'nextcloud Talk → agent channels (forged)', 'wrong signature refused by channels', forged.detail);

    // The SOC receives the real ledger's audit records of that turn; plain NATS is refused to it.
    const received = subscribed.ok ? await soc.call({ op: 'nats-wait', key: 'soc', subjectPrefix: 'audit.', timeoutMs: 15_000 }) : subscribed;
    record(true, received.ok, 'soc → agent NATS tls://:4222 subscribe audit.>', 'soc receives the ledger’s audit records over TLS', received.detail ?? socTls.detail);
    const socPlain = await soc.call({ op: 'nats-plain', host: vm('agent'), port: 4222 });
    record(false, !socPlain.ok && /tls_required/.test(socPlain.detail ?? ''), 'soc → agent NATS nats://:4222 (no TLS)', 'refused by the server', socPlain.detail);

    // The real llm-router answers cmd.llm.complete through Ollama on its own VM, across both firewalls.
    const gw = await container.call({ op: 'nats-connect', key: 'gateway', url: 'tls://127.0.0.1:4222', seed: seeds.gateway, user: 'gateway', inboxPrefix: inboxPrefixFor('gateway'), caFile: ca.caCertPath });
    const request = JSON.stringify({ session: 'netns-proof', turn: 'turn-1', messages: [{ role: 'user', content: 'hello across the firewall' }], tools: [], trust: 'untrusted', tainted: false, sensitive: false });
    const completion = gw.ok ? await container.call({ op: 'nats-request', key: 'gateway', subject: 'cmd.llm.complete', data: request, timeoutMs: 10_000 }) : gw;
    const llm = completion.ok ? (JSON.parse(completion.detail!) as { ok: boolean; data?: { route: string; message: { content: string } } }) : undefined;
    const llmOk = llm?.ok === true && llm.data!.route === 'local' && llm.data!.message.content.length > 0;
    record(true, llmOk, 'agent llm-router (real) → ollama :11434', 'cmd.llm.complete answered by Ollama (route local)', llm ? JSON.stringify(llm).slice(0, 160) : completion.detail);

    // The sandbox egress allowlist holds at both fences: the proxy lets through only its allowlist, and the
    // agent VM's firewall only the layout's sandbox_egress — so an allowlist that drifted from the layout
    // (PROXY_ALLOW has a host the layout does not) still reaches nothing, and the layout check names it.
    const viaProxy = (target: string) => container.call({ op: 'proxy-connect', proxyHost: '127.0.0.1', proxyPort: 3128, target, ca: ca.caCertPath, timeoutMs: 15_000 });
    const proxied = await viaProxy(`${SANDBOX_DEST}:443`);
    record(true, proxied.ok, `sandbox → proxy → internet ${SANDBOX_DEST}:443`, 'allowlisted and in the layout’s sandbox_egress', proxied.detail);
    const notAllowlisted = await viaProxy(`${CLOUD}:443`);
    record(false, !notAllowlisted.ok && /403/.test(notAllowlisted.detail ?? ''), `sandbox → proxy → internet ${CLOUD}:443`, 'not on the proxy allowlist (the firewall would pass it): proxy refuses', notAllowlisted.detail);
    const beforeDrift = await lab.dropCount('agent');
    const drifted = await viaProxy(`${OTHER_INTERNET}:443`);
    const driftDrops = (await lab.dropCount('agent')) - beforeDrift;
    record(false, !drifted.ok && driftDrops > 0, `sandbox → proxy → internet ${OTHER_INTERNET}:443`, 'on the proxy allowlist by drift, not in the layout: the VM firewall drops it', `${drifted.detail}; drop counters +${driftDrops} (agent)`);
    const driftProblems = sandboxAllowlistProblems(layout, PROXY_ALLOW.join(','));
    record(false, driftProblems.length === 1 && driftProblems[0].startsWith(`${OTHER_INTERNET}:443: not in the layout`), 'palisade layout sandbox-allowlist --check', 'names the drifted host', driftProblems.join('; '));

    const line = (r: Row) =>
      `${r.check.allowed ? 'ALLOW' : 'BLOCK'} ${r.passed ? 'pass' : 'FAIL'}  ${`${r.check.from} → ${r.check.to} ${r.check.host}:${r.check.proto}/${r.check.port}`.padEnd(52)} ${r.check.what} — ${r.detail}`;
    const extraLine = (e: (typeof extra)[number]) => `${e.allowed ? 'ALLOW' : 'BLOCK'} ${e.passed ? 'pass' : 'FAIL'}  ${e.path.padEnd(52)} ${e.what} — ${e.detail ?? ''}`;
    const allowedCount = rows.filter((r) => r.check.allowed).length + extra.filter((e) => e.allowed).length;
    const blockedCount = rows.filter((r) => !r.check.allowed).length + extra.filter((e) => !e.allowed).length;
    console.log(
      [
        `Layout proof: ${rows.length + extra.length} checks (${allowedCount} allowed, ${blockedCount} forbidden); layout with cloud_endpoints [${CLOUD}] and sandbox_egress [${SANDBOX_DEST}] (proxy allowlist ${sandboxAllowlistOf(layout)} + drift ${OTHER_INTERNET}:443)`,
        '-- network flows',
        ...rows.map(line),
        '-- services across the firewalls',
        ...extra.map(extraLine),
      ].join('\n'),
    );

    expect(rows.filter((r) => !r.passed).map(line)).toEqual([]);
    expect(extra.filter((e) => !e.passed).map(extraLine)).toEqual([]);
    expect(extra.length).toBe(14);
  });
});
