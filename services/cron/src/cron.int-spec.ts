// cron against the real nats-server and PostgreSQL, each cron replica its own process, called over
// NATS the way the gateway calls it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import {
  createEvent,
  DEFAULT_AGENT_ID,
  RpcError,
  type CronCreateRequest,
  type CronCreator,
  type CronJobView,
  type CronListReply,
  type CronRateLimitDetails,
  type CronJobFiredData,
  type PalisadeEvent,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  infraFacts,
  pgPasswordFileOf,
  serviceEnv,
  ServiceProcess,
  startServiceProcess,
  waitFor,
  waitHealthy,
} from '@palisade/testing';

const RUN = `cron-int-${Date.now().toString(36)}`;
const operator: CronCreator = { type: 'user', id: `${RUN}-operator`, trust: 'trusted' };
const sender: CronCreator = { type: 'sender', id: `${RUN}-sender`, trust: 'untrusted' };
const otherSender: CronCreator = { type: 'sender', id: `${RUN}-other`, trust: 'untrusted' };
const SESSION = 'ses_0123456789abcdef0123456789abcdef01234567';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cron (real NATS + PostgreSQL, cron as separate processes)', () => {
  let admin: NatsConnection;
  let gateway: NatsConnection;
  let rpc: NatsRpcClient;
  let events: EventStore;
  let superuser: Client;
  const replicas: ServiceProcess[] = [];
  const systemJobsFile = join(mkdtempSync(join(tmpdir(), 'palisade-cron-int-')), 'system-jobs.json');

  const startReplica = async () => {
    const proc = startServiceProcess(
      'cron',
      serviceEnv('cron', {
        PALISADE_CRON_TICK_MS: '100',
        PALISADE_CRON_SYSTEM_JOBS_FILE: systemJobsFile,
      }),
    );
    replicas.push(proc);
    await waitHealthy(admin, 'cron');
    return proc;
  };
  const stopAll = async () => {
    await Promise.all(replicas.splice(0).map((p) => p.stop()));
  };

  const create = (request: Partial<CronCreateRequest> & Record<string, unknown>) =>
    rpc.request<CronJobView>('cmd.cron.create', {
      session: SESSION,
      prompt: 'Say hello',
      creator: operator,
      ...request,
    });
  const list = async () => (await rpc.request<CronListReply>('cmd.cron.list', {})).jobs;
  const remove = (job: string, creator: CronCreator = operator) =>
    rpc.request('cmd.cron.remove', { job, creator });
  const history = async (job: string) =>
    (await events.readAggregate('cronjob', job)).map((s) => ({ ...s.event, seq: s.seq }));
  const fired = async (job: string) =>
    (await history(job)).filter((e) => e.type === 'cron.job.fired') as (PalisadeEvent<CronJobFiredData> & {
      seq: number;
    })[];
  const refusal = async (promise: Promise<unknown>): Promise<RpcError> => {
    try {
      await promise;
    } catch (error) {
      return error as RpcError;
    }
    throw new Error('expected the request to be refused');
  };
  const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
  const setFrozen = async (frozen: boolean) =>
    new EventStore(gateway).append(
      createEvent({
        type: frozen ? 'agent.frozen' : 'agent.thawed',
        source: 'gateway',
        aggregateId: DEFAULT_AGENT_ID,
        data: { reason: 'cron integration test' },
        actor: { type: 'user', id: operator.id },
        trust: 'trusted',
      }),
    );

  beforeAll(async () => {
    writeFileSync(
      systemJobsFile,
      JSON.stringify([
        {
          name: 'int-test-nightly',
          kind: 'cron',
          expr: '0 3 * * *',
          tz: 'Europe/Berlin',
          session: SESSION,
          prompt: 'Tidy up',
        },
      ]),
    );
    admin = await connectAs('admin');
    gateway = await connectAs('gateway');
    rpc = new NatsRpcClient(gateway, 15_000);
    events = new EventStore(admin);
    const f = infraFacts();
    superuser = new Client({
      host: f.pgHost,
      port: f.pgPort,
      database: f.pgDatabase,
      user: 'postgres',
      password: readFileSync(pgPasswordFileOf('postgres'), 'utf8').trim(),
    });
    await superuser.connect();
    await startReplica();
    // An earlier run that died midway may have left the agent frozen or jobs behind.
    await setFrozen(false);
    const { rows } = await superuser.query(
      "SELECT job FROM cron.job WHERE removed_at IS NULL AND creator_id LIKE 'cron-int-%'",
    );
    for (const row of rows) await remove(row.job).catch(() => undefined);
  });

  afterAll(async () => {
    if (rpc) {
      const { rows } = await superuser.query(
        'SELECT job FROM cron.job WHERE removed_at IS NULL AND creator_id LIKE $1',
        [`${RUN}-%`],
      );
      for (const row of rows) await remove(row.job).catch(() => undefined);
    }
    await stopAll();
    await superuser?.end();
    await gateway?.close();
    await admin?.close();
  });

  test('create appends cron.job.created with the creator as actor and list shows the job', async () => {
    const view = await create({
      name: 'weekday digest',
      kind: 'cron',
      expr: '0 8 * * 1-5',
      tz: 'Europe/Berlin',
    });
    expect(view).toMatchObject({
      name: 'weekday digest',
      kind: 'cron',
      expr: '0 8 * * 1-5',
      tz: 'Europe/Berlin',
      session: SESSION,
      system: false,
      trust: 'trusted',
    });
    expect(Date.parse(view.nextRunAt!)).toBeGreaterThan(Date.now());
    const [created] = await history(view.job);
    expect(created).toMatchObject({
      type: 'cron.job.created',
      source: 'palisade/cron',
      subject: view.job,
      actortype: 'user',
      actorid: operator.id,
      trust: 'trusted',
    });
    expect(created.data).toMatchObject({ job: view.job, system: false, prompt: 'Say hello' });
    expect((await list()).find((j) => j.job === view.job)).toEqual(view);
    await remove(view.job);
  });

  test('a caller cannot set `system`, and bad schedules are refused with a clear reason', async () => {
    const system = await refusal(create({ kind: 'every', expr: '1h', system: true }));
    expect(system).toMatchObject({ code: 'validation_failed' });
    expect(JSON.stringify(system.details)).toMatch(/property system should not exist/);
    const nestedSystem = await refusal(
      create({ kind: 'every', expr: '1h', creator: { ...operator, system: true } as CronCreator }),
    );
    expect(nestedSystem.code).toBe('validation_failed');
    await expect(create({ kind: 'cron', expr: '0 8 * * *', tz: 'Mars/Olympus_Mons' })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/unknown time zone/),
    });
    await expect(create({ kind: 'cron', expr: '99 8 * * *' })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/bad cron expression/),
    });
    await expect(create({ kind: 'at', expr: '2020-01-01T00:00:00Z' })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/in the past/),
    });
    await expect(create({ kind: 'every', expr: 'often' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      create({
        kind: 'every',
        expr: '1h',
        creator: { ...operator, type: 'system' } as unknown as CronCreator,
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const { rows } = await superuser.query(
      'SELECT count(*)::int AS n FROM cron.job WHERE creator_id = $1 AND removed_at IS NULL',
      [operator.id],
    );
    expect(rows[0].n).toBe(0);
  });

  test('an `every` job fires on schedule with its creator’s trust, as a new causal chain', async () => {
    const view = await create({ kind: 'every', expr: '1s', creator: sender });
    const [first] = await waitFor(
      'first firing',
      async () => ((await fired(view.job)).length ? fired(view.job) : undefined),
      10_000,
    );
    await remove(view.job, sender);
    const [created] = await history(view.job);
    expect(first).toMatchObject({
      source: 'palisade/cron',
      actortype: 'system',
      actorid: 'cron',
      trust: 'untrusted',
      causationid: created.id,
    });
    expect(first.correlationid).toBe(first.id);
    expect(first.data).toMatchObject({ job: view.job, session: SESSION, scheduledAt: view.nextRunAt });
  });

  test('a one-shot `at` job fires once and is then done', async () => {
    const view = await create({ kind: 'at', expr: inSeconds(1) });
    await waitFor('the at job to fire', async () => (await fired(view.job)).length > 0, 10_000);
    await sleep(1_200);
    const shots = await fired(view.job);
    expect(shots).toHaveLength(1);
    expect(shots[0].data.scheduledAt).toBe(view.nextRunAt);
    const listed = (await list()).find((j) => j.job === view.job)!;
    expect(listed.nextRunAt).toBeUndefined();
    expect(listed.lastFiredAt).toBe(shots[0].time);
  });

  test('with two replicas running, each due time is fired exactly once', async () => {
    const second = await startReplica();
    const every = await create({ kind: 'every', expr: '1s' });
    const cron = await create({ kind: 'cron', expr: '* * * * * *', tz: 'America/New_York' });
    await sleep(4_500);
    await remove(every.job);
    await remove(cron.job);
    for (const job of [every.job, cron.job]) {
      const times = (await fired(job)).map((e) => Date.parse(e.data.scheduledAt));
      expect(times.length).toBeGreaterThanOrEqual(3);
      expect(new Set(times).size).toBe(times.length); // no due time twice
      // consecutive due times lie on the one-second grid, in order (a late run may skip, never repeat)
      for (let i = 1; i < times.length; i++) expect((times[i] - times[i - 1]) % 1_000).toBe(0);
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]);
    }
    await second.stop();
    replicas.splice(replicas.indexOf(second), 1);
  });

  test('update changes the definition; only the author (or a trusted operator) may change or remove it', async () => {
    const view = await create({ kind: 'every', expr: '1h', creator: sender });
    const foreign = {
      job: view.job,
      kind: 'every',
      expr: '1s',
      session: SESSION,
      prompt: 'pwned',
      creator: otherSender,
    };
    await expect(rpc.request('cmd.cron.update', foreign)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(remove(view.job, otherSender)).rejects.toMatchObject({ code: 'forbidden' });
    const updated = await rpc.request<CronJobView>('cmd.cron.update', {
      ...foreign,
      prompt: 'Check the weather',
      creator: sender,
    });
    expect(updated).toMatchObject({ job: view.job, expr: '1s', trust: 'untrusted' });
    const last = (await history(view.job)).at(-1)!;
    expect(last).toMatchObject({ type: 'cron.job.updated', actorid: sender.id, trust: 'untrusted' });
    expect(last.data).toMatchObject({ prompt: 'Check the weather', system: false });
    const shot = await waitFor('the updated job to fire', async () => (await fired(view.job))[0], 10_000);
    expect(shot.causationid).toBe(last.id);
    await expect(
      rpc.request('cmd.cron.update', { ...foreign, creator: sender, system: true }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  test('a removed job never fires again', async () => {
    const view = await create({ kind: 'every', expr: '1s' });
    await waitFor('a firing', async () => (await fired(view.job)).length > 0, 10_000);
    await remove(view.job);
    const removedAt = (await history(view.job)).find((e) => e.type === 'cron.job.removed')!.seq;
    await sleep(2_000);
    expect((await fired(view.job)).filter((e) => e.seq > removedAt)).toEqual([]);
    expect((await list()).some((j) => j.job === view.job)).toBe(false);
    await expect(remove(view.job)).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      rpc.request('cmd.cron.update', {
        job: view.job,
        kind: 'every',
        expr: '1s',
        session: SESSION,
        prompt: 'x',
        creator: operator,
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  test('nothing fires while the agent is frozen; after the thaw the job fires again', async () => {
    await setFrozen(true);
    try {
      const view = await create({ kind: 'every', expr: '1s' });
      await sleep(2_500);
      expect(await fired(view.job)).toEqual([]);
      const health = (await admin.request('health.cron', '', { timeout: 2_000 })).json<{
        data: { checks: Record<string, { detail?: string }> };
      }>();
      expect(health.data.checks.scheduler.detail).toMatch(/frozen/);
      await setFrozen(false);
      const shots = await waitFor(
        'a firing after the thaw',
        async () => ((await fired(view.job)).length ? fired(view.job) : undefined),
        10_000,
      );
      // the runs missed while frozen collapse into one
      expect(shots.length).toBeLessThanOrEqual(2);
      await remove(view.job);
    } finally {
      await setFrozen(false);
    }
  });

  test('system jobs come only from configuration and cannot be changed or removed over NATS', async () => {
    const system = (await list()).find((j) => j.name === 'int-test-nightly')!;
    expect(system).toMatchObject({
      system: true,
      trust: 'trusted',
      kind: 'cron',
      expr: '0 3 * * *',
      tz: 'Europe/Berlin',
    });
    expect((await history(system.job))[0]).toMatchObject({
      type: 'cron.job.created',
      actortype: 'system',
      actorid: 'cron',
    });
    await expect(remove(system.job)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      rpc.request('cmd.cron.update', {
        job: system.job,
        kind: 'every',
        expr: '1s',
        session: SESSION,
        prompt: 'x',
        creator: operator,
      }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });

  test('the 11th creation inside the window is refused (rate_limited), also after a restart', async () => {
    const limited: CronCreator = { type: 'apikey', id: `${RUN}-burst`, trust: 'trusted' };
    const far = new Date(Date.now() + 86_400_000).toISOString();
    for (let i = 0; i < 10; i++) await create({ kind: 'at', expr: far, creator: limited });
    const refused = await refusal(create({ kind: 'at', expr: far, creator: limited }));
    expect(refused.code).toBe('rate_limited');
    expect(refused.message).toMatch(/at most 10 per 60 s; retry after \d+ s/);
    const details = refused.details as CronRateLimitDetails;
    expect(details).toMatchObject({ limit: 10, windowSeconds: 60 });
    expect(details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(details.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Another creator has its own quota.
    await expect(
      create({ kind: 'at', expr: far, creator: { ...limited, id: `${RUN}-calm` } }),
    ).resolves.toMatchObject({ kind: 'at' });

    await stopAll();
    await startReplica();
    await startReplica();
    for (let i = 0; i < 3; i++)
      await expect(create({ kind: 'at', expr: far, creator: limited })).rejects.toMatchObject({
        code: 'rate_limited',
      });
    const { rows } = await superuser.query('SELECT count(*)::int AS n FROM cron.job WHERE creator_id = $1', [
      limited.id,
    ]);
    expect(rows[0].n).toBe(10);

    // Fifteen at once through both replicas: the shared window admits exactly ten.
    const racer: CronCreator = { type: 'apikey', id: `${RUN}-race`, trust: 'trusted' };
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, () => create({ kind: 'at', expr: far, creator: racer })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const reasons = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as RpcError).code] : []));
    expect(reasons).toEqual(Array(5).fill('rate_limited'));
  });

  test('health reports the projection position and a live scheduler', async () => {
    const reply = (await admin.request('health.cron', '', { timeout: 2_000 })).json<{
      data: { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    }>();
    expect(reply.data.status).toBe('ok');
    expect(reply.data.checks.projection).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^at \d+/),
    });
    expect(reply.data.checks.scheduler).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/last tick/),
    });
  });
});
