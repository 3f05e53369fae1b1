// The whole stack as separate processes against the real infrastructure: every service boots with
// its own NATS identity and answers health; bad config and bad requests fail clearly.
import { RpcError } from '@palisade/contracts';
import { NatsRpcClient, SERVICE_NAMES } from '@palisade/nats';
import {
  connectAs,
  PalisadeStack,
  serviceEnv,
  ServiceProcess,
  startServiceProcess,
  waitFor,
} from '@palisade/testing';

describe('stack: every service as its own process', () => {
  // Every service with the configuration it needs; Nextcloud and the models are stand-ins.
  const stack = new PalisadeStack();
  let procs: ServiceProcess[] = [];

  beforeAll(async () => {
    await stack.start();
    procs = stack.procs;
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
  });

  test('the gateway /healthz reports every service healthy', async () => {
    const body = await waitFor(
      'gateway /healthz',
      async () => {
        const res = await stack.gateway.call('/healthz');
        return res.status === 200
          ? (res.json as { status: string; services: Record<string, { status: string }> })
          : undefined;
      },
      30_000,
    );
    expect(body.status).toBe('ok');
    expect(Object.keys(body.services).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const name of SERVICE_NAMES) expect(body.services[name].status).toBe('ok');
  });

  test('each service runs under its own NATS identity (connection names on the server)', async () => {
    const monitor = process.env.PALISADE_NATS_MONITOR_URL!;
    const connz = (await (await fetch(`${monitor}/connz?auth=true&limit=1024`)).json()) as {
      connections: { name?: string }[];
    };
    const names = new Set(
      (connz.connections as { name?: string; authorized_user?: string }[]).map((c) => c.name),
    );
    for (const service of SERVICE_NAMES) expect(names.has(`palisade-${service}`)).toBe(true);
  });

  test('a request with an invalid body gets a typed validation error naming the problem', async () => {
    const gateway = await connectAs('gateway');
    const rpc = new NatsRpcClient(gateway, 5_000);
    const bad = rpc.request('cmd.ledger.checkpoint', { bogus: 1, reason: 'x'.repeat(500) });
    await expect(bad).rejects.toBeInstanceOf(RpcError);
    await expect(bad).rejects.toMatchObject({
      code: 'validation_failed',
      details: expect.arrayContaining([expect.stringMatching(/bogus/)]),
    });
    const notJson = await gateway.request('cmd.ledger.checkpoint', '{not json', { timeout: 5_000 });
    expect(notJson.json()).toEqual({
      ok: false,
      error: { code: 'validation_failed', message: 'request body is not valid JSON' },
    });
    await gateway.close();
  });

  test('a service with bad configuration refuses to start and names each bad variable', async () => {
    const proc = startServiceProcess(
      'cron',
      serviceEnv('cron', { PALISADE_NATS_URL: 'http://nope', PALISADE_RPC_TIMEOUT_MS: 'soon' }),
    );
    const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
    expect(code).toBe(78);
    expect(proc.output()).toMatch(/PALISADE_NATS_URL: must be nats:\/\/host:port/);
    expect(proc.output()).toMatch(/PALISADE_RPC_TIMEOUT_MS/);
  });

  test('a seed file readable by others is refused, and no secret value reaches the logs', async () => {
    const { chmodSync, copyFileSync, mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'palisade-seed-'));
    const loose = join(dir, 'cron.nk');
    copyFileSync(serviceEnv('cron').PALISADE_NATS_SEED_FILE, loose);
    chmodSync(loose, 0o644);
    const proc = startServiceProcess('cron', serviceEnv('cron', { PALISADE_NATS_SEED_FILE: loose }));
    expect(await new Promise((resolve) => proc.child.once('exit', resolve))).toBe(78);
    expect(proc.output()).toMatch(
      /PALISADE_NATS_SEED_FILE: secret file must not be readable by group or others/,
    );
    const seed = readFileSync(loose, 'utf8').trim();
    for (const p of procs) expect(p.output()).not.toContain(seed);
    for (const p of procs) {
      const ownSeed = readFileSync(serviceEnv(p.name).PALISADE_NATS_SEED_FILE, 'utf8').trim();
      expect(p.output()).not.toContain(ownSeed);
    }
  });
});
