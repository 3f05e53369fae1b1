// THE PROOF of vm-layout/layout.yaml with real traffic. Network namespaces stand in for the three VMs
// (nextcloud, agent, ollama) and the outside networks (operator, admin, soc, internet), routed by a
// router namespace. Each VM namespace loads its nftables ruleset generated from the layout, real
// listeners run on the real ports (TLS where the layout says TLS), a real nats-server with TLS from a
// local CA runs in the agent namespace, and the gateway runs "in a container" behind a Docker-style
// DNAT — so the forward chain is proven too. Every allowed flow must work; every other flow must fail
// AND be counted by a palisade drop counter. The full matrix is printed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { inboxPrefixFor, NATS_PRINCIPALS, renderNatsServerConfig } from '@palisade/nats';
import { createTestCa, type TestCa } from '@palisade/testing';
import { ensureSecrets, publicNkeyOf } from '../../../cli/src/infra/secrets';
import { natsSeedFile, pgPasswordFile } from '../../../cli/src/paths';
import { loadLayout, nftRuleset, type Layout } from '../index';
import { NetnsLab, type NsWorker } from './netns-lab';

const repo = join(__dirname, '..', '..', '..', '..');
const CLOUD = '203.0.113.7';
const OTHER_INTERNET = '198.51.100.99';
const CONTAINER = '10.99.0.2';
const TALK_SECRET = 'talk-bot-secret-for-the-netns-proof-0123456789abcdef';
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

  beforeAll(async () => {
    // The shipped layout, with one cloud endpoint configured so the "only when configured" rule is exercised.
    const shipped = loadLayout();
    layout = { ...shipped, cloud_endpoints: [{ name: 'test-cloud', host: 'cloud.test', cidrs: [`${CLOUD}/32`] }] };
    const vm = (name: string) => layout.vms[name].address;
    const net = (name: string, host: number) => {
      const [base, bits] = layout.networks[name].cidrs[0].split('/');
      const prefix = base.split('.').slice(0, 3).join('.');
      return { cidr: `${prefix}.${host}/${bits}`, router: `${prefix}.1/${bits}` };
    };
    ca = await createTestCa(join(dir, 'ca'), { extraSans: [vm('nextcloud'), vm('agent'), vm('ollama'), CLOUD, CONTAINER] });

    await lab.createRouter(`${layout.private_network.cidr.split('/')[0].replace(/\.0$/, '.1')}/${layout.private_network.cidr.split('/')[1]}`);
    const gateway = layout.private_network.cidr.split('/')[0].replace(/\.0$/, '.1');
    for (const name of ['nextcloud', 'agent', 'ollama']) await lab.addBridged(name, `${vm(name)}/${layout.private_network.cidr.split('/')[1]}`, gateway);
    for (const name of ['operator', 'admin', 'soc']) {
      const n = net(name, 10);
      await lab.addRouted(name, n.cidr, n.router);
    }
    await lab.addRouted('internet', '198.51.100.10/24', '198.51.100.1/24', [...layout.dns_resolvers, CLOUD, OTHER_INTERNET]);
    await lab.defaultRouteVia('internet');
    // A "container" behind the agent's docker0, its ports published the way Docker does it (DNAT in
    // prerouting, masquerade on the way out) — in Docker's own table, not ours.
    await lab.addContainer('container', 'agent', 'docker0', '10.99.0.1/24', `${CONTAINER}/24`);
    const dockerLike = [
      'table ip dockersim {',
      '  chain prerouting { type nat hook prerouting priority dstnat; policy accept;',
      `    iifname != "docker0" tcp dport 18443 dnat to ${CONTAINER}:8443`,
      `    iifname != "docker0" tcp dport 5432 dnat to ${CONTAINER}:5432`,
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
    await listen('nextcloud', 'tcp', 443, true);
    await listen('nextcloud', 'tcp', 22);
    await listen('nextcloud', 'tcp', 5432);
    await listen('agent', 'tcp', 22);
    await listen('container', 'tcp', 8443, true); // gateway in a container, published as agent:18443
    await listen('container', 'tcp', 5432); // PostgreSQL published by mistake as agent:5432
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
    const nats = lab.spawnIn('agent', 'nats-server', ['-c', conf]);
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server is ready')) resolve();
      };
      nats.stdout!.on('data', onData);
      nats.stderr!.on('data', onData);
      nats.once('exit', (code) => reject(new Error(`nats-server exited ${code}: ${log}`)));
    });

    for (const name of ['nextcloud', 'agent', 'ollama']) await lab.nft(name, nftRuleset(layout, name));

    // PostgreSQL in the agent namespace (loopback there), streams/roles/schemas by `palisade infra setup`.
    chmodSync(dir, 0o711);
    mkdirSync(pgDir, { mode: 0o700 });
    chownSync(pgDir, ...postgresIds());
    copyFileSync(join(home, 'secrets', 'pg', 'postgres.pw'), join(pgDir, 'pw'));
    chownSync(join(pgDir, 'pw'), ...postgresIds());
    const asPostgres = (command: string) => run('ip', ['netns', 'exec', lab.hosts.get('agent')!.ns, 'su', 'postgres', '-s', '/bin/sh', '-c', command], { timeout: 90_000 });
    await asPostgres(`'${pgBin()}/initdb' -D '${pgDir}/data' -U postgres --pwfile='${pgDir}/pw' --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null`);
    await asPostgres(`'${pgBin()}/pg_ctl' -D '${pgDir}/data' -l '${pgDir}/log' -w -t 60 -o "-p 5432 -k '${pgDir}' -c listen_addresses=127.0.0.1" start >/dev/null`);
    pgStarted = true;
    const cli = join(repo, 'dist', 'libs', 'cli', 'src', 'main.js');
    await run('ip', ['netns', 'exec', lab.hosts.get('agent')!.ns, process.execPath, cli, 'infra', 'setup', '--nats', 'tls://127.0.0.1:4222', '--pg-host', '127.0.0.1', '--pg-port', '5432'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PALISADE_HOME: home, PALISADE_NATS_CA_FILE: ca.caCertPath },
      timeout: 90_000,
    });

    // The real channels service: the Talk webhook over HTTPS on the VM's address (certificate from the CA).
    writeFileSync(join(dir, 'talk.secret'), TALK_SECRET, { mode: 0o600 });
    writeFileSync(join(dir, 'channels.json'), JSON.stringify([{ name: 'talk-main', kind: 'talk', baseUrl: `https://${vm('nextcloud')}`, secretFile: join(dir, 'talk.secret') }]));
    lab.spawnIn('agent', process.execPath, ['--enable-source-maps', join(repo, 'dist', 'services', 'channels', 'src', 'main.js')], {
      cwd: repo,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PALISADE_HOME: home,
        PALISADE_NATS_URL: 'tls://127.0.0.1:4222',
        PALISADE_NATS_CA_FILE: ca.caCertPath,
        PALISADE_NATS_SEED_FILE: seeds.channels,
        PALISADE_PG_HOST: '127.0.0.1',
        PALISADE_PG_PORT: '5432',
        PALISADE_PG_DATABASE: 'palisade',
        PALISADE_PG_USER: 'palisade_channels',
        PALISADE_PG_PASSWORD_FILE: pgPasswordFile('palisade_channels', home),
        PALISADE_CHANNELS_HOST: '0.0.0.0',
        PALISADE_CHANNELS_PORT: '18788',
        PALISADE_CHANNELS_TLS_CERT_FILE: ca.certPath,
        PALISADE_CHANNELS_TLS_KEY_FILE: ca.keyPath,
        PALISADE_CHANNELS_FILE: join(dir, 'channels.json'),
        NODE_EXTRA_CA_CERTS: ca.caCertPath,
      },
    });

    // The real llm-router in the agent namespace, on the namespace's NATS over TLS, calling Ollama on its VM.
    lab.spawnIn('agent', process.execPath, ['--enable-source-maps', join(repo, 'dist', 'services', 'llm-router', 'src', 'main.js')], {
      cwd: repo,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PALISADE_HOME: home,
        PALISADE_NATS_URL: 'tls://127.0.0.1:4222',
        PALISADE_NATS_CA_FILE: ca.caCertPath,
        PALISADE_NATS_SEED_FILE: seeds['llm-router'],
        PALISADE_OLLAMA_URL: `http://${vm('ollama')}:11434`,
        PALISADE_OLLAMA_MODEL: 'standin:latest',
        PALISADE_OLLAMA_TIMEOUT_MS: '10000',
      },
    });
    // Both services up before the firewall checks start.
    for (let i = 0; ; i++) {
      const up = await workers.get('agent')!.call({ op: 'probe', proto: 'tcp', host: '127.0.0.1', port: 18788, connectOnly: true, timeoutMs: 1000 });
      if (up.ok) break;
      if (i > 120) throw new Error('channels did not listen on 18788 within 60 s');
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 240_000);

  afterAll(async () => {
    for (const worker of workers.values()) worker.stop();
    if (pgStarted) {
      await run('ip', ['netns', 'exec', lab.hosts.get('agent')!.ns, 'su', 'postgres', '-s', '/bin/sh', '-c', `'${pgBin()}/pg_ctl' -D '${pgDir}/data' -m immediate -w stop`]).catch(() => undefined);
    }
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    expect(await lab.leftovers()).toEqual([]);
  });

  it('every allowed flow works, every other flow is dropped and counted; prints the matrix', async () => {
    const vm = (name: string) => layout.vms[name].address;
    const external = (name: string) => lab.hosts.get(name)!.address;
    const allow = (from: string, to: string, host: string, port: number, what: string, proto: 'tcp' | 'udp' = 'tcp', tls = false): Check => ({ from, to, host, port, proto, allowed: true, what, tls });
    const deny = (from: string, to: string, host: string, port: number, what: string, proto: 'tcp' | 'udp' = 'tcp'): Check => ({ from, to, host, port, proto, allowed: false, what });
    const checks: Check[] = [
      allow('operator', 'agent', vm('agent'), 18443, 'gateway HTTPS (Docker-published, container port 8443)', 'tcp', true),
      allow('operator', 'nextcloud', vm('nextcloud'), 443, 'Nextcloud HTTPS', 'tcp', true),
      allow('nextcloud', 'agent', vm('agent'), 18788, 'Talk webhook → channels HTTPS', 'tcp', true),
      allow('agent', 'nextcloud', vm('nextcloud'), 443, 'Talk reply / Passwords HTTPS', 'tcp', true),
      allow('agent', 'ollama', vm('ollama'), 11434, 'llm-router → Ollama'),
      allow('container', 'ollama', vm('ollama'), 11434, 'llm-router in a container → Ollama (forward + masquerade)'),
      allow('soc', 'agent', vm('agent'), 4222, 'NATS TLS handshake', 'tcp'),
      allow('admin', 'nextcloud', vm('nextcloud'), 22, 'SSH'),
      allow('admin', 'agent', vm('agent'), 22, 'SSH'),
      allow('admin', 'ollama', vm('ollama'), 22, 'SSH'),
      allow('agent', 'internet', CLOUD, 443, 'configured cloud model endpoint HTTPS', 'tcp', true),
      allow('agent', 'internet', layout.dns_resolvers[0], 53, 'DNS to the configured resolver', 'udp'),
      allow('agent', 'internet', layout.dns_resolvers[0], 53, 'DNS over TCP to the configured resolver'),
      allow('agent', 'internet', '198.51.100.10', 123, 'NTP', 'udp'),
      allow('nextcloud', 'internet', layout.dns_resolvers[0], 53, 'DNS to the configured resolver', 'udp'),
      allow('nextcloud', 'internet', '198.51.100.10', 123, 'NTP', 'udp'),

      deny('ollama', 'internet', '198.51.100.10', 443, 'Ollama egress to the internet'),
      deny('ollama', 'internet', layout.dns_resolvers[0], 53, 'Ollama DNS', 'udp'),
      deny('ollama', 'agent', vm('agent'), 18443, 'Ollama → gateway'),
      deny('ollama', 'nextcloud', vm('nextcloud'), 443, 'Ollama → Nextcloud'),
      deny('nextcloud', 'agent', vm('agent'), 4222, 'Nextcloud → NATS'),
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
      deny('agent', 'internet', OTHER_INTERNET, 443, 'agent → a host that is not a cloud endpoint'),
      deny('agent', 'internet', '198.51.100.10', 53, 'agent DNS to a resolver not configured (exfiltration)', 'udp'),
      deny('agent', 'operator', external('operator'), 2222, 'agent → operator network'),
      deny('agent', 'ollama', vm('ollama'), 22, 'agent → Ollama SSH'),
      deny('container', 'internet', OTHER_INTERNET, 443, 'container egress to the internet (forward)'),
    ];

    // Ollama's stand-in speaks HTTP (it sends no greeting): a completed TCP handshake is the answer there.
    // So does channels (HTTPS; the TLS handshake is verified against the local CA).
    for (const check of checks) if (check.port === 11434 || check.port === 18788) check.connectOnly = true;
    const vms = new Set(['nextcloud', 'agent', 'ollama']);
    const counterHolders = (check: Check) => [check.from === 'container' ? 'agent' : check.from, check.to].filter((n) => vms.has(n));
    const rows: Row[] = [];
    for (const check of checks) {
      const holders = counterHolders(check);
      const before = await Promise.all(holders.map((n) => lab.dropCount(n)));
      const reply = await workers.get(check.from)!.call({
        op: 'probe',
        proto: check.proto,
        host: check.host,
        port: check.port,
        timeoutMs: check.allowed ? 5000 : 1000,
        ...(check.tls ? { ca: ca.caCertPath } : {}),
        ...(check.connectOnly ? { connectOnly: true } : {}),
      });
      const after = await Promise.all(holders.map((n) => lab.dropCount(n)));
      const dropped = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
      const passed = check.allowed ? reply.ok : !reply.ok && dropped > 0;
      rows.push({ check, ok: reply.ok, passed, detail: `${reply.detail ?? ''}${check.allowed ? '' : `; drop counters +${dropped} (${holders.join(', ')})`}` });
    }

    // The SOC flow end to end: the soc user subscribes over TLS from the soc network and receives an
    // audit record the ledger publishes; without TLS the server refuses the soc user.
    const soc = workers.get('soc')!;
    const agent = workers.get('agent')!;
    const socTls = await soc.call({ op: 'nats-connect', key: 'soc', url: `tls://${vm('agent')}:4222`, seed: seeds.soc, user: 'soc', inboxPrefix: inboxPrefixFor('soc'), caFile: ca.caCertPath });
    const subscribed = socTls.ok ? await soc.call({ op: 'nats-subscribe', key: 'soc', subject: 'audit.>' }) : socTls;
    const ledger = await agent.call({ op: 'nats-connect', key: 'ledger', url: 'tls://127.0.0.1:4222', seed: seeds.ledger, user: 'ledger', inboxPrefix: inboxPrefixFor('ledger'), caFile: ca.caCertPath });
    if (ledger.ok) await agent.call({ op: 'nats-publish', key: 'ledger', subject: 'audit.netns.proof', data: 'checkpoint-over-tls' });
    const received = subscribed.ok ? await soc.call({ op: 'nats-wait', key: 'soc', subject: 'audit.netns.proof', timeoutMs: 5000 }) : subscribed;
    const socPlain = await soc.call({ op: 'nats-plain', host: vm('agent'), port: 4222 });

    // The real llm-router answers cmd.llm.complete through Ollama on its own VM, across both firewalls.
    const gateway = await agent.call({ op: 'nats-connect', key: 'gateway', url: 'tls://127.0.0.1:4222', seed: seeds.gateway, user: 'gateway', inboxPrefix: inboxPrefixFor('gateway'), caFile: ca.caCertPath });
    const request = JSON.stringify({
      session: 'netns-proof',
      turn: 'turn-1',
      messages: [{ role: 'user', content: 'hello across the firewall' }],
      tools: [],
      trust: 'untrusted',
      tainted: false,
      sensitive: false,
    });
    let completion: { ok: boolean; detail?: string } = gateway;
    for (let attempt = 0; gateway.ok && attempt < 60; attempt++) {
      completion = await agent.call({ op: 'nats-request', key: 'gateway', subject: 'cmd.llm.complete', data: request, timeoutMs: 5000 });
      if (completion.ok) break;
      await new Promise((r) => setTimeout(r, 500)); // llm-router still starting (no responders)
    }
    const answer = completion.ok ? (JSON.parse(completion.detail!) as { ok: boolean; data?: { route: string; message: { content: string } } }) : undefined;
    const llmOk = answer?.ok === true && answer.data!.route === 'local' && answer.data!.message.content.length > 0;

    // A Talk webhook from the Nextcloud VM reaches the real channels service over HTTPS and is accepted;
    // the same webhook with a wrong signature is refused by channels (401), not by the firewall.
    const nextcloud = workers.get('nextcloud')!;
    const hook = { op: 'talk-webhook', url: `https://${vm('agent')}:18788/webhooks/talk/talk-main`, backendUrl: `https://${vm('nextcloud')}/`, secret: TALK_SECRET, token: 'netnsroom', ca: ca.caCertPath, text: 'hello agent' };
    const webhook = await nextcloud.call(hook);
    const forged = await nextcloud.call({ ...hook, wrongSignature: true });

    const line = (r: Row) =>
      `${r.check.allowed ? 'ALLOW' : 'BLOCK'} ${r.passed ? 'pass' : 'FAIL'}  ${`${r.check.from} → ${r.check.to} ${r.check.host}:${r.check.proto}/${r.check.port}`.padEnd(46)} ${r.check.what} — ${r.detail}`;
    const extra = [
      `ALLOW ${webhook.ok ? 'pass' : 'FAIL'}  ${'nextcloud Talk → agent channels (real) :18788'.padEnd(46)} signed webhook accepted over HTTPS — ${webhook.detail}`,
      `BLOCK ${!forged.ok && /HTTP 401/.test(forged.detail ?? '') ? 'pass' : 'FAIL'}  ${'nextcloud Talk → agent channels (forged)'.padEnd(46)} wrong signature refused by channels — ${forged.detail}`,
      `ALLOW ${llmOk ? 'pass' : 'FAIL'}  ${'agent llm-router (real) → ollama :11434'.padEnd(46)} cmd.llm.complete answered by Ollama — ${answer ? JSON.stringify(answer).slice(0, 160) : completion.detail}`,
      `ALLOW ${received.ok ? 'pass' : 'FAIL'}  ${'soc → agent NATS tls://:4222 subscribe audit.>'.padEnd(46)} soc receives a ledger audit record over TLS — ${received.detail ?? socTls.detail}`,
      `BLOCK ${!socPlain.ok ? 'pass' : 'FAIL'}  ${'soc → agent NATS nats://:4222 (no TLS)'.padEnd(46)} refused by the server — ${socPlain.detail}`,
    ];
    console.log(
      [`Layout proof: ${rows.length + extra.length} checks (${rows.filter((r) => r.check.allowed).length + 3} allowed flows, ${rows.filter((r) => !r.check.allowed).length + 2} forbidden)`, ...rows.map(line), ...extra].join('\n'),
    );

    expect(rows.filter((r) => !r.passed).map(line)).toEqual([]);
    expect({ llmOk, answer }).toEqual({ llmOk: true, answer: expect.anything() });
    expect(webhook).toMatchObject({ ok: true });
    expect(forged).toMatchObject({ ok: false, detail: expect.stringMatching(/^HTTP 401/) });
    expect(received).toEqual({ id: expect.any(Number), ok: true, detail: 'checkpoint-over-tls' });
    expect(socPlain).toEqual({ id: expect.any(Number), ok: false, detail: expect.stringMatching(/^server announced tls_required; plain CONNECT not accepted/) });
  });
});
