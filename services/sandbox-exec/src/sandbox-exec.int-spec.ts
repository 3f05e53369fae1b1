// sandbox-exec as its own process against the real nats-server and Docker engine: grants verified
// and claimed through the log, refusals audited with nothing run, failing closed without Docker,
// freeze / thaw, the egress allowlist at the network layer (proxy, packet filter, DNS sink — every
// denied connection audited), and no leftovers.
//
// Egress test traffic goes only to containers and networks made here, or to TEST-NET addresses
// (198.51.100.0/24, 203.0.113.0/24) that the filter drops on the host before anything leaves.
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  createEvent,
  DEFAULT_AGENT_ID,
  type Grant,
  type GrantLimits,
  jcs,
  type PalisadeEvent,
  RpcError,
  type SandboxInfoReply,
  type SandboxRunReply,
  type SandboxRunRequest,
  signGrant,
  uuidv7,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  keyFileOf,
  publicKeyFileOf,
  repoRoot,
  serviceEnv,
  type ServiceProcess,
  startServiceProcess,
  waitFor,
} from '@palisade/testing';
import { SANDBOX_LABELS, workspaceVolumeName } from './sandbox/docker-sandbox.repository';

jest.setTimeout(240_000);

const docker = new Docker();
const TAG = randomBytes(4).toString('hex');
let imageId: string;
let admin: NatsConnection;
let gatewayNc: NatsConnection;
let rpc: NatsRpcClient;
let store: EventStore;
let approvalsKey: KeyObject;
let proc: ServiceProcess | undefined;
/** Pids of every sandbox-exec process started here (their containers must be gone at the end). */
const pids: number[] = [];
const sessions: string[] = [];

const DEFAULT_LIMITS: GrantLimits = {
  memoryBytes: 512 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pidsLimit: 256,
  timeoutMs: 60_000,
  outputBytes: 200 * 1024,
  network: 'none',
};

function newSession(): string {
  const id = `ses_t${TAG}${randomBytes(8).toString('hex')}`;
  sessions.push(id);
  return id;
}

function grantFor(
  session: string,
  command: string,
  over: Partial<Grant> = {},
  key: KeyObject = approvalsKey,
) {
  const grant: Grant = {
    grant: uuidv7(),
    approval: uuidv7(),
    session,
    command,
    cwd: '/workspace',
    env: {},
    image: imageId,
    limits: DEFAULT_LIMITS,
    exp: new Date(Date.now() + 120_000).toISOString(),
    ...over,
  };
  return { grant, signed: signGrant(key, grant) };
}

function requestFor(
  g: ReturnType<typeof grantFor>,
  over: Partial<SandboxRunRequest> = {},
): SandboxRunRequest {
  return {
    grant: g.signed,
    session: g.grant.session,
    command: g.grant.command,
    cwd: g.grant.cwd,
    env: g.grant.env,
    image: g.grant.image,
    ...over,
  };
}

const run = (request: unknown) =>
  rpc.request<SandboxRunReply>('cmd.sandbox.run', request, { timeoutMs: 120_000 });

async function refusal(request: unknown): Promise<RpcError> {
  const error = await run(request).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RpcError);
  return error as RpcError;
}

async function execEvents(exec: string): Promise<PalisadeEvent[]> {
  return (await store.readAggregate('exec', exec)).map((s) => s.event);
}

async function grantEvents(grant: string): Promise<PalisadeEvent[]> {
  return (await store.readAggregate('grant', grant)).map((s) => s.event);
}

function startSandbox(extra: Record<string, string> = {}): ServiceProcess {
  const p = startServiceProcess(
    'sandbox-exec',
    serviceEnv('sandbox-exec', {
      PALISADE_SANDBOX_GRANT_PUBKEY_FILE: publicKeyFileOf('approvals-grant'),
      PALISADE_SANDBOX_POOL_SIZE: '1',
      PALISADE_SANDBOX_TIMEOUT_MS: '60000',
      ...extra,
    }),
  );
  pids.push(p.child.pid!);
  return p;
}

type Health = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
async function health(): Promise<Health> {
  const reply = await admin.request('health.sandbox-exec', '', { timeout: 5_000 });
  return reply.json<{ data: Health }>().data;
}

async function startHealthy(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = startSandbox(extra);
  await waitFor('sandbox-exec healthy', async () => (await health()).status === 'ok', 60_000, 250).catch(
    (error) => {
      throw new Error(`${(error as Error).message}\n${p.output().slice(-3000)}`);
    },
  );
  return p;
}

async function stopSandbox(): Promise<void> {
  await proc?.stop();
  proc = undefined;
}

beforeAll(async () => {
  imageId = execFileSync('bash', [join(repoRoot(), 'scripts', 'build-sandbox-image.sh')], {
    encoding: 'utf8',
  }).trim();
  admin = await connectAs('admin');
  gatewayNc = await connectAs('gateway');
  rpc = new NatsRpcClient(gatewayNc, 120_000);
  store = new EventStore(admin);
  approvalsKey = createPrivateKey(readFileSync(keyFileOf('approvals-grant'), 'utf8'));
  proc = await startHealthy();
}, 900_000);

afterAll(async () => {
  await stopSandbox();
  // Workspaces outlive containers by design; the test's own are removed here.
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${SANDBOX_LABELS.managed}=true`] } });
  for (const v of Volumes ?? []) {
    const session = v.Labels?.[SANDBOX_LABELS.session];
    if (session && sessions.includes(session)) {
      await docker.getVolume(v.Name).remove();
      const backing = v.Labels?.[SANDBOX_LABELS.backing];
      if (backing)
        await docker
          .getVolume(backing)
          .remove()
          .catch(() => undefined);
    }
  }
  // No container, volume or network of any sandbox-exec process started here remains.
  for (const pid of pids) {
    const label = { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.instancePid}=${pid}`] };
    expect(await docker.listContainers({ all: true, filters: label })).toEqual([]);
    expect((await docker.listVolumes({ filters: label })).Volumes ?? []).toEqual([]);
    expect(await docker.listNetworks({ filters: label })).toEqual([]);
  }
  const { Volumes: left } = await docker.listVolumes();
  const names = new Set((left ?? []).map((v) => v.Name));
  for (const s of sessions) expect(names.has(workspaceVolumeName(s))).toBe(false);
  await gatewayNc?.close();
  await admin?.close();
});

describe('cmd.sandbox.info', () => {
  it('reports the image ID, the default limits and no egress', async () => {
    const info = await rpc.request<SandboxInfoReply>('cmd.sandbox.info', {});
    expect(info).toEqual({
      image: imageId,
      limits: { ...DEFAULT_LIMITS, timeoutMs: 60_000 },
      egress: false,
    });
  });
});

describe('cmd.sandbox.run with grants', () => {
  it('runs a validly granted command and records used → started → finished under one correlation id', async () => {
    const session = newSession();
    const g = grantFor(session, 'echo hello && id -u');
    const correlationId = uuidv7();
    const causationId = uuidv7();
    const reply = await run(requestFor(g, { correlationId, causationId }));
    expect(reply.exitCode).toBe(0);
    const [hello, uid] = reply.stdout.trim().split('\n');
    expect(hello).toBe('hello');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(reply.killed).toBe('none');

    const used = await grantEvents(g.grant.grant);
    expect(used.map((e) => e.type)).toEqual(['exec.grant.used']);
    expect(used[0].data).toMatchObject({
      grant: g.grant.grant,
      approval: g.grant.approval,
      session,
      exec: reply.exec,
    });
    const events = await execEvents(reply.exec);
    expect(events.map((e) => e.type)).toEqual(['exec.started', 'exec.finished']);
    expect(events[1].data).toMatchObject({
      exitCode: 0,
      killed: 'none',
      truncated: false,
      stdout: reply.stdout,
    });
    for (const e of [...used, ...events]) {
      expect(e.correlationid).toBe(correlationId);
      expect(e.causationid).toBe(causationId);
    }
  });

  it('refuses missing, forged, expired, mismatched and foreign grants: audited, and nothing ran', async () => {
    const session = newSession();
    const touch = (name: string) => `touch /workspace/marker-${name}`;
    const other = generateKeyPairSync('ed25519').privateKey;
    const base = grantFor(session, touch('base'));
    const cases: { name: string; code: string; request: unknown }[] = [
      { name: 'no grant', code: 'malformed', request: { ...requestFor(base), grant: undefined } },
      {
        name: 'forged (other key)',
        code: 'bad_signature',
        request: requestFor(grantFor(session, touch('forged'), {}, other)),
      },
      {
        name: 'altered payload',
        code: 'bad_signature',
        request: (() => {
          const g = grantFor(session, 'true');
          const payload = jcs({ ...g.grant, command: touch('altered') });
          return {
            ...requestFor(g),
            command: touch('altered'),
            grant: { payload, signature: g.signed.signature },
          };
        })(),
      },
      {
        name: 'expired',
        code: 'expired',
        request: requestFor(
          grantFor(session, touch('expired'), { exp: new Date(Date.now() - 1_000).toISOString() }),
        ),
      },
      { name: 'command', code: 'mismatch', request: requestFor(base, { command: touch('command') }) },
      { name: 'cwd', code: 'mismatch', request: requestFor(base, { cwd: '/tmp' }) },
      { name: 'env', code: 'mismatch', request: requestFor(base, { env: { LD_PRELOAD: '/tmp/x.so' } }) },
      { name: 'image', code: 'mismatch', request: requestFor(base, { image: `sha256:${'0'.repeat(64)}` }) },
      {
        name: 'image not the sandbox image (granted and requested alike)',
        code: 'mismatch',
        request: requestFor(grantFor(session, touch('image2'), { image: `sha256:${'1'.repeat(64)}` })),
      },
      { name: 'session', code: 'mismatch', request: requestFor(base, { session: newSession() }) },
      {
        name: 'network this sandbox does not provide',
        code: 'mismatch',
        request: requestFor(
          grantFor(session, touch('network'), { limits: { ...DEFAULT_LIMITS, network: 'bridge' } }),
        ),
      },
    ];
    for (const c of cases) {
      const error = await refusal(c.request);
      expect({
        name: c.name,
        code: error.code,
        reason: (error.details as { reason: string }).reason,
      }).toEqual({
        name: c.name,
        code: 'forbidden',
        reason: c.code,
      });
      const exec = (error.details as { exec: string }).exec;
      const events = await execEvents(exec);
      expect(events.map((e) => e.type)).toEqual(['exec.grant.refused']);
      expect(events[0].data).toMatchObject({ code: c.code });
    }
    // None of them spent the base grant, and none touched a marker.
    expect(await grantEvents(base.grant.grant)).toEqual([]);
    const check = await run(requestFor(grantFor(session, 'ls -A /workspace | wc -l')));
    expect(check.stdout.trim()).toBe('0');
  });

  it('a grant runs once: a second use is refused, and again after the service restarted', async () => {
    const session = newSession();
    const g = grantFor(session, 'echo run >> /workspace/count; wc -l < /workspace/count');
    const first = await run(requestFor(g));
    expect(first.stdout.trim()).toBe('1');
    const again = await refusal(requestFor(g));
    expect((again.details as { reason: string }).reason).toBe('already_used');
    expect((await execEvents((again.details as { exec: string }).exec)).map((e) => e.type)).toEqual([
      'exec.grant.refused',
    ]);

    await stopSandbox();
    proc = await startHealthy();
    const afterRestart = await refusal(requestFor(g));
    expect((afterRestart.details as { reason: string }).reason).toBe('already_used');
    const count = await run(requestFor(grantFor(session, 'wc -l < /workspace/count')));
    expect(count.stdout.trim()).toBe('1');
    expect((await grantEvents(g.grant.grant)).map((e) => e.type)).toEqual(['exec.grant.used']);
  });

  it('redacts secrets found by the detectors in the reply and the event', async () => {
    const key = `AKIA${'ABCDEFGHIJKLMNOP'}`;
    const reply = await run(requestFor(grantFor(newSession(), `echo aws=${key}`)));
    expect(reply.stdout).not.toContain(key);
    const finished = (await execEvents(reply.exec)).find((e) => e.type === 'exec.finished')!;
    expect(JSON.stringify(finished)).not.toContain(key);
  });
});

describe('failing closed', () => {
  it('Docker unreachable: sandbox_unavailable, exec.failed, grant not spent, nothing runs on the host', async () => {
    await stopSandbox();
    const marker = join('/tmp', `palisade-host-marker-${TAG}`);
    proc = startSandbox({ DOCKER_HOST: `unix:///tmp/palisade-no-docker-${TAG}.sock` });
    const h = await waitFor(
      'degraded health',
      async () => {
        const r = await health();
        return r.checks.docker?.ok === false ? r : undefined;
      },
      30_000,
      250,
    );
    expect(h.checks.docker.detail).toMatch(/unreachable/i);

    const g = grantFor(newSession(), `touch ${marker}`);
    const error = await refusal(requestFor(g));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/^sandbox_unavailable: /);
    const exec = (error.details as { exec: string }).exec;
    const events = await execEvents(exec);
    expect(events.map((e) => e.type)).toEqual(['exec.failed']);
    expect(events[0].data).toMatchObject({
      code: 'sandbox_unavailable',
      grantSpent: false,
      grant: g.grant.grant,
    });
    expect(await grantEvents(g.grant.grant)).toEqual([]);
    expect(() => readFileSync(marker)).toThrow();

    // Docker back: the unspent grant runs (in the sandbox, not on the host).
    await stopSandbox();
    proc = await startHealthy();
    const ok = await run(requestFor(g));
    expect(ok.exitCode).toBe(0);
    expect(() => readFileSync(marker)).toThrow();
  });
});

describe('freeze', () => {
  const appendAgent = async (type: 'agent.frozen' | 'agent.thawed', data: Record<string, string>) => {
    await store.append(
      createEvent({
        type,
        source: 'gateway',
        aggregateId: DEFAULT_AGENT_ID,
        data,
        actor: { type: 'user', id: 'operator' },
        trust: 'trusted',
      }),
    );
  };
  afterAll(async () => {
    // Never leave the shared log frozen.
    const last = (await store.readAggregate('agent', DEFAULT_AGENT_ID)).filter((s) =>
      ['agent.frozen', 'agent.thawed'].includes(s.event.type),
    );
    if (last.at(-1)?.event.type === 'agent.frozen')
      await appendAgent('agent.thawed', { reason: 'test cleanup' });
  });

  it('agent.frozen stops running sandboxes and refuses runs; agent.thawed re-enables them', async () => {
    const session = newSession();
    const long = run(requestFor(grantFor(session, 'sleep 60; echo survived')));
    await waitFor(
      'the sleep to run',
      async () => {
        const list = await docker.listContainers({
          filters: { label: [`${SANDBOX_LABELS.session}=${session}`] },
        });
        if (list.length === 0) {
          // A pool container carries no session label: look for the process instead.
          return execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).includes('sleep 60');
        }
        return true;
      },
      30_000,
      200,
    );
    await appendAgent('agent.frozen', { reason: 'incident drill' });
    const stopped = await long;
    expect(stopped.stdout).not.toContain('survived');
    expect(stopped.exitCode).not.toBe(0);
    await waitFor(
      'frozen health',
      async () => /^frozen/.test((await health()).checks.agent.detail ?? ''),
      15_000,
      100,
    );

    const g = grantFor(session, 'touch /workspace/frozen-marker');
    const error = await refusal(requestFor(g));
    expect(error.code).toBe('forbidden');
    expect((error.details as { reason: string }).reason).toBe('agent_frozen');
    expect((await execEvents((error.details as { exec: string }).exec))[0].data).toMatchObject({
      code: 'agent_frozen',
    });

    // Restarted while frozen: still frozen (folded from the log at start).
    await stopSandbox();
    proc = await startHealthy();
    expect((await health()).checks.agent.detail).toMatch(/^frozen/);
    expect(((await refusal(requestFor(g))).details as { reason: string }).reason).toBe('agent_frozen');

    await appendAgent('agent.thawed', { reason: 'drill over' });
    await waitFor(
      'active health',
      async () => (await health()).checks.agent.detail === 'active',
      15_000,
      100,
    );
    const ok = await run(requestFor(g));
    expect(ok.exitCode).toBe(0);
  });
});

describe('egress allowlist at the network layer', () => {
  const upstream = `palisade-t${TAG}-up`;
  const egressNetwork = `palisade-t${TAG}-egress`;
  const okHost = `target-ok-${TAG}`;
  const noHost = `target-no-${TAG}`;
  const testLabels = { 'palisade.test': TAG };
  let okAddress = '';
  let table = '';
  /** A table a crashed instance left for a bridge that no longer exists. */
  const staleTable = `palisade_egress_br_${randomBytes(6).toString('hex')}`;

  type Denial = PalisadeEvent & { data: Record<string, unknown> };
  const denialsOf = async (exec: string): Promise<Denial[]> =>
    (await execEvents(exec)).filter((e) => e.type === 'exec.egress.denied') as Denial[];
  /** Waits until every expected denial (a subset match each) is among the run's events. */
  async function expectDenials(exec: string, expected: Array<Record<string, unknown>>): Promise<Denial[]> {
    const matches = (d: Denial, e: Record<string, unknown>) =>
      Object.entries(e).every(([k, v]) => d.data[k] === v);
    return waitFor(
      `${expected.length} egress denials of ${exec}`,
      async () => {
        const found = await denialsOf(exec);
        return expected.every((e) => found.some((d) => matches(d, e))) ? found : undefined;
      },
      20_000,
      250,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; got ${JSON.stringify((await denialsOf(exec)).map((d) => d.data))}`);
    });
  }
  const nft = (...args: string[]) => execFileSync('nft', args, { encoding: 'utf8' });

  async function httpServer(alias: string): Promise<Docker.Container> {
    const c = await docker.createContainer({
      name: `palisade-t${TAG}-${alias}`,
      Image: imageId,
      Entrypoint: ['python3'],
      Cmd: ['-m', 'http.server', '8080', '--directory', '/tmp'],
      User: '10001:10001',
      Labels: testLabels,
      HostConfig: {
        NetworkMode: upstream,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,size=1048576' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        LogConfig: { Type: 'none', Config: {} },
      },
      NetworkingConfig: { EndpointsConfig: { [upstream]: { Aliases: [alias] } } },
    });
    await c.start();
    return c;
  }

  beforeAll(async () => {
    await docker.createNetwork({
      Name: upstream,
      Driver: 'bridge',
      Labels: testLabels,
      CheckDuplicate: true,
    });
    const ok = await httpServer(okHost);
    await httpServer(noHost);
    okAddress = (await ok.inspect()).NetworkSettings.Networks[upstream].IPAddress;
    nft('add', 'table', 'inet', staleTable);
    await stopSandbox();
    proc = await startHealthy({
      PALISADE_SANDBOX_EGRESS_ALLOWLIST: `${okHost}:8080`,
      PALISADE_SANDBOX_EGRESS_NETWORK: egressNetwork,
      PALISADE_SANDBOX_EGRESS_UPSTREAM_NETWORK: upstream,
    });
    const net = await docker.getNetwork(egressNetwork).inspect();
    table = `palisade_egress_br_${(net.Id as string).slice(0, 12)}`;
  });

  afterAll(async () => {
    await stopSandbox();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`palisade.test=${TAG}`] } }))
      await docker.getContainer(c.Id).remove({ force: true });
    await docker
      .getNetwork(upstream)
      .remove()
      .catch(() => undefined);
    // The service removed its internal network, its packet filter and proxy on shutdown.
    expect(await docker.listNetworks({ filters: { name: [egressNetwork] } })).toEqual([]);
    expect(nft('list', 'tables')).not.toContain(table);
    if (nft('list', 'tables').includes(staleTable)) nft('delete', 'table', 'inet', staleTable);
    expect(await docker.listContainers({ all: true, filters: { name: [`${egressNetwork}-proxy`] } })).toEqual(
      [],
    );
  });

  it('info names the internal egress network, which has no way out but the proxy', async () => {
    const info = await rpc.request<SandboxInfoReply>('cmd.sandbox.info', {});
    expect(info.egress).toBe(true);
    expect(info.limits.network).toBe(egressNetwork);
    const net = await docker.getNetwork(egressNetwork).inspect();
    expect(net.Internal).toBe(true);
  });

  it('allowlisted target reachable through the proxy; others refused and audited; direct connections have no route', async () => {
    const limits = { ...DEFAULT_LIMITS, network: egressNetwork };
    const session = newSession();
    const script = [
      `curl -sS --max-time 10 http://${okHost}:8080/ | grep -q 'Directory listing' && echo reached || echo unreached`,
      `curl -sS -o /dev/null -w '%{http_code}\\n' --max-time 10 http://${noHost}:8080/`,
      `curl -sS -o /dev/null -w '%{http_code}\\n' --max-time 10 http://${okHost}:8081/`,
      `curl -sS --max-time 10 https://${noHost}:8443/ >/dev/null 2>&1; echo connect=$?`,
      `curl -sS --noproxy '*' --max-time 3 http://${okAddress}:8080/ >/dev/null 2>&1; echo direct=$?`,
      `python3 -c "import socket; s=socket.socket(); s.settimeout(3); s.connect(('${okAddress}', 8080))" 2>/dev/null; echo socket=$?`,
      `curl -sS --noproxy '*' --max-time 3 http://${okHost}:8080/ >/dev/null 2>&1; echo byname=$?`,
    ].join('; ');
    const reply = await run(requestFor(grantFor(session, script, { limits })));
    const lines = reply.stdout.trim().split('\n');
    expect(lines[0]).toBe('reached'); // the allowlisted server answered through the proxy
    expect(lines[1]).toBe('403');
    expect(lines[2]).toBe('403');
    expect(lines[3]).not.toBe('connect=0');
    expect(lines[4]).not.toBe('direct=0');
    expect(lines[5]).not.toBe('socket=0');
    expect(lines[6]).not.toBe('byname=0');

    const denials = await waitFor(
      'three egress denials by the proxy',
      async () => {
        const found = (await denialsOf(reply.exec)).filter((e) => e.data.via === 'proxy');
        return found.length >= 3 ? found : undefined;
      },
      15_000,
      200,
    );
    expect(denials.map((e) => (e.data as { destination: string }).destination).sort()).toEqual(
      [`${noHost}:8080`, `${okHost}:8081`, `${noHost}:8443`].sort(),
    );
    for (const d of denials)
      expect(d.data).toMatchObject({
        exec: reply.exec,
        session,
        network: egressNetwork,
        reason: 'not_allowlisted',
      });
    expect(
      denials.find((d) => (d.data as { destination: string }).destination.endsWith(':8443'))!.data,
    ).toMatchObject({
      method: 'CONNECT',
    });
    // The connections that ignored the proxy were dropped by the packet filter, and audited too.
    await expectDenials(reply.exec, [
      { via: 'direct', destination: okAddress, protocol: 'tcp', port: 8080, reason: 'not_proxied', session },
    ]);
  });

  it('a table left for a bridge that no longer exists was removed at start', () => {
    expect(nft('list', 'tables')).not.toContain(staleTable);
  });

  it('the bridge is guarded by its own nftables table, hooked before Docker', () => {
    const listing = nft('list', 'table', 'inet', table);
    expect(listing).toMatch(/type filter hook forward priority filter - 10; policy accept;/);
    expect(listing).toMatch(/type filter hook input priority filter - 10; policy accept;/);
    expect(listing).toMatch(/counter name "unrecorded" drop/);
  });

  it('every connection that bypasses the proxy is dropped and audited: outside TCP, UDP, DNS to an outside resolver, the host, a peer', async () => {
    const net = await docker.getNetwork(egressNetwork).inspect();
    const gateway = (net.IPAM?.Config?.[0] as { Gateway?: string }).Gateway!;
    const bridge0 = ((await docker.getNetwork('bridge').inspect()).IPAM?.Config?.[0] as { Gateway?: string })
      .Gateway!;
    // A peer on the egress network itself (as another sandbox would be), serving on 8080.
    const peer = await docker.createContainer({
      name: `palisade-t${TAG}-peer`,
      Image: imageId,
      Entrypoint: ['python3'],
      Cmd: ['-m', 'http.server', '8080', '--directory', '/tmp'],
      User: '10001:10001',
      Labels: testLabels,
      HostConfig: {
        NetworkMode: egressNetwork,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,size=1048576' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        LogConfig: { Type: 'none', Config: {} },
      },
    });
    try {
      await peer.start();
      const peerIp = (await peer.inspect()).NetworkSettings.Networks[egressNetwork].IPAddress;
      const leak = `leak-${TAG}.example.com`;
      const probe = [
        'import socket, struct',
        'def tcp(h, p):',
        '    s = socket.socket(); s.settimeout(2)',
        '    try:',
        '        s.connect((h, p)); print("tcp", h, p, "open")',
        '    except Exception:',
        '        print("tcp", h, p, "blocked")',
        'def udp(h, p, data):',
        '    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)',
        '    s.sendto(data, (h, p))',
        '    try:',
        '        s.recvfrom(512); print("udp", h, p, "answered")',
        '    except Exception:',
        '        print("udp", h, p, "silent")',
        'query = struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0) + b"\\x04data\\x04leak\\x00" + struct.pack(">HH", 1, 1)',
        'tcp("198.51.100.7", 443)',
        'udp("198.51.100.9", 5000, b"hello")',
        'udp("203.0.113.53", 53, query)',
        `tcp("${gateway}", 22)`,
        `tcp("${bridge0}", 80)`,
        `tcp("${peerIp}", 8080)`,
        `try:\n    socket.gethostbyname("${leak}"); print("dns resolved")\nexcept Exception:\n    print("dns refused")`,
      ].join('\n');
      const session = newSession();
      const g = grantFor(session, `python3 -c '${probe}'`, {
        limits: { ...DEFAULT_LIMITS, network: egressNetwork },
      });
      const reply = await run(requestFor(g)).catch((e: Error) => {
        throw new Error(`${e.message}; sandbox-exec output:\n${proc?.output().slice(-6000)}`);
      });
      expect(reply.stderr).toBe('');
      expect(reply.stdout.trim().split('\n')).toEqual([
        'tcp 198.51.100.7 443 blocked',
        'udp 198.51.100.9 5000 silent',
        'udp 203.0.113.53 53 silent',
        `tcp ${gateway} 22 blocked`,
        `tcp ${bridge0} 80 blocked`,
        `tcp ${peerIp} 8080 blocked`,
        'dns refused',
      ]);
      const base = { exec: reply.exec, session, network: egressNetwork };
      const direct = { ...base, via: 'direct', reason: 'not_proxied' };
      const denials = await expectDenials(reply.exec, [
        { ...direct, destination: '198.51.100.7', protocol: 'tcp', port: 443 },
        { ...direct, destination: '198.51.100.9', protocol: 'udp', port: 5000 },
        { ...direct, destination: '203.0.113.53', protocol: 'udp', port: 53 },
        { ...direct, destination: gateway, protocol: 'tcp', port: 22 },
        { ...direct, destination: bridge0, protocol: 'tcp', port: 80 },
        { ...direct, destination: peerIp, protocol: 'tcp', port: 8080 },
        { ...base, via: 'dns', destination: leak, protocol: 'udp', port: 53, reason: 'dns_refused' },
      ]);
      const sandboxIp = denials.find((d) => d.data.destination === '198.51.100.7')!.data.client;
      expect(sandboxIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      for (const d of denials.filter((x) => x.data.via === 'direct')) {
        expect(d.data.client).toBe(sandboxIp);
        expect(d.data.packets).toBeGreaterThanOrEqual(1);
      }
      // Retried SYNs add to a flow's packet count; a flow read during the run (the 3 s read) and again
      // after it gives one event per read, never one per packet.
      const outside = denials.filter((d) => d.data.destination === '198.51.100.7');
      expect(outside.length).toBeLessThanOrEqual(2);
    } finally {
      await peer.remove({ force: true });
    }
  });

  it('a deleted filter table is put back before the next egress run, which is still blocked and audited', async () => {
    nft('delete', 'table', 'inet', table);
    expect(() => nft('list', 'table', 'inet', table)).toThrow();
    const session = newSession();
    const g = grantFor(
      session,
      'curl -sS --noproxy "*" --max-time 2 http://198.51.100.77:8080/ >/dev/null 2>&1; echo direct=$?',
      { limits: { ...DEFAULT_LIMITS, network: egressNetwork } },
    );
    const reply = await run(requestFor(g));
    expect(reply.stdout.trim()).not.toBe('direct=0');
    expect(nft('list', 'table', 'inet', table)).toMatch(/chain guard/);
    await expectDenials(reply.exec, [
      {
        via: 'direct',
        destination: '198.51.100.77',
        protocol: 'tcp',
        port: 8080,
        session,
        reason: 'not_proxied',
      },
    ]);
  });

  it('a run without network is unaffected by the egress filter', async () => {
    const reply = await run(requestFor(grantFor(newSession(), 'echo fine')));
    expect(reply.exitCode).toBe(0);
    expect(reply.stdout).toBe('fine\n');
    expect(await denialsOf(reply.exec)).toEqual([]);
  });
});

describe('egress fails closed without its packet filter', () => {
  const egressNetwork = `palisade-t${TAG}-nonft`;

  afterAll(async () => {
    await stopSandbox();
    expect(await docker.listNetworks({ filters: { name: [egressNetwork] } })).toEqual([]);
  });

  it('nft unavailable: egress runs refused with sandbox_failed (grant not spent); runs without network still work', async () => {
    await stopSandbox();
    proc = startSandbox({
      PALISADE_SANDBOX_EGRESS_ALLOWLIST: 'example.org:443',
      PALISADE_SANDBOX_EGRESS_NETWORK: egressNetwork,
      PALISADE_SANDBOX_NFT: `/nonexistent-${TAG}/nft`,
    });
    const h = await waitFor(
      'docker up, egress down',
      async () => {
        const r = await health();
        return r.checks.docker?.ok && r.checks.egress?.ok === false ? r : undefined;
      },
      60_000,
      250,
    );
    expect(h.status).not.toBe('ok');

    const session = newSession();
    const g = grantFor(session, 'echo must-not-run', {
      limits: { ...DEFAULT_LIMITS, network: egressNetwork },
    });
    const error = await refusal(requestFor(g));
    expect(error.message).toMatch(/^sandbox_failed: .*nft/);
    expect(error.details).toMatchObject({ reason: 'sandbox_failed', grantSpent: false });
    const events = await execEvents((error.details as { exec: string }).exec);
    expect(events.map((e) => e.type)).toEqual(['exec.failed']);
    expect(events[0].data).toMatchObject({ code: 'sandbox_failed', grantSpent: false, grant: g.grant.grant });
    expect(await grantEvents(g.grant.grant)).toEqual([]);

    const ok = await run(requestFor(grantFor(session, 'echo no-network-ok')));
    expect(ok.stdout).toBe('no-network-ok\n');
  });
});
