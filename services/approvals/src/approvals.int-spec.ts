// approvals against the real nats-server and PostgreSQL, running as its own process (and as two).
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  APPROVALS_DECIDE,
  APPROVALS_EVALUATE,
  APPROVALS_GET,
  APPROVALS_GRANT,
  APPROVALS_LIST,
  type ApprovalsDecideReply,
  type ApprovalsDecideRequest,
  type ApprovalsEvaluateReply,
  type ApprovalsEvaluateRequest,
  type ApprovalsGrantReply,
  type ApprovalsListReply,
  type ApprovalView,
  createEvent,
  type GrantLimits,
  type PalisadeEvent,
  RpcError,
  uuidv7,
  verifyGrant,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  keyFileOf,
  publicKeyFileOf,
  serviceEnv,
  type ServiceProcess,
  startServiceProcess,
  waitFor,
  waitHealthy,
} from '@palisade/testing';

const TIMEOUT_S = 4;
const IMAGE = `sha256:${'ab12'.repeat(16)}`;
const LIMITS: GrantLimits = {
  memoryBytes: 512 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pidsLimit: 256,
  timeoutMs: 30_000,
  outputBytes: 200 * 1024,
  network: 'none',
};

describe('approvals (real NATS + PostgreSQL, approvals as a process)', () => {
  // A fresh agent id per run: freezing it cannot disturb any other test or later run.
  const agent = `it-${randomBytes(6).toString('hex')}`;
  const neverAgent = `${agent}-never`;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-approvals-it-'));
  const policyFile = join(dir, 'policy.json');
  let env: Record<string, string>;
  let primary: ServiceProcess;
  let admin: NatsConnection;
  let gateway: NatsConnection;
  let channels: NatsConnection;
  let rpc: NatsRpcClient;
  let store: EventStore;
  const publicKey = () => createPublicKey(readFileSync(publicKeyFileOf('approvals-grant'), 'utf8'));

  const request = (overrides: Partial<ApprovalsEvaluateRequest> = {}): ApprovalsEvaluateRequest => ({
    session: `ses_${randomBytes(20).toString('hex')}`,
    turn: uuidv7(),
    command: 'ls -la | head',
    cwd: '/workspace',
    env: { LANG: 'C.UTF-8', TERM: 'dumb' },
    image: IMAGE,
    limits: LIMITS,
    trust: 'trusted',
    tainted: false,
    agent,
    channel: 'talk-main',
    conversation: 'room-1',
    correlationId: uuidv7(),
    ...overrides,
  });
  const evaluate = (r: ApprovalsEvaluateRequest) =>
    rpc.request<ApprovalsEvaluateReply>(APPROVALS_EVALUATE, r);
  const decide = (r: ApprovalsDecideRequest) => rpc.request<ApprovalsDecideReply>(APPROVALS_DECIDE, r);
  const grantOf = (approval: string) => rpc.request<ApprovalsGrantReply>(APPROVALS_GRANT, { approval });
  const eventsOf = async (approval: string): Promise<PalisadeEvent<Record<string, unknown>>[]> =>
    (await store.readAggregate('approval', approval)).map(
      (e) => e.event as PalisadeEvent<Record<string, unknown>>,
    );
  const resolutions = async (approval: string) =>
    (await eventsOf(approval)).filter((e) => e.type === 'exec.approval.resolved');
  const rpcError = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the request to fail');
      },
      (error: RpcError) => ({ code: error.code, message: error.message }),
    );

  beforeAll(async () => {
    writeFileSync(
      policyFile,
      JSON.stringify({
        agents: { [agent]: 'smart', [neverAgent]: 'never' },
        channels: { 'talk-never': 'never', 'talk-always': 'always' },
        allow: ['rm -rf ~'],
      }),
    );
    env = serviceEnv('approvals', {
      PALISADE_APPROVALS_GRANT_KEY_FILE: keyFileOf('approvals-grant'),
      PALISADE_APPROVALS_POLICY_FILE: policyFile,
      PALISADE_APPROVALS_TIMEOUT_S: String(TIMEOUT_S),
      PALISADE_APPROVALS_SWEEP_MS: '250',
    });
    admin = await connectAs('admin');
    gateway = await connectAs('gateway');
    channels = await connectAs('channels');
    rpc = new NatsRpcClient(gateway, 10_000);
    store = new EventStore(admin);
    primary = startServiceProcess('approvals', env);
    await waitHealthy(admin, 'approvals');
  });

  afterAll(async () => {
    await primary?.stop();
    await admin?.close();
    await gateway?.close();
    await channels?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a proven-safe command is auto-approved with a grant that verifies and binds the exact request', async () => {
    const r = request({ causationId: uuidv7() });
    const reply = await evaluate(r);
    expect(reply).toMatchObject({
      status: 'approved',
      decision: 'auto',
      rule: 'smart.safe-list',
      mode: 'smart',
      command: r.command,
    });
    const grant = verifyGrant(publicKey(), reply.grant!);
    expect(grant).toEqual({
      grant: expect.any(String),
      approval: reply.approval,
      session: r.session,
      command: r.command,
      cwd: r.cwd,
      env: r.env,
      image: r.image,
      limits: r.limits,
      exp: expect.any(String),
    });
    const ttl = Date.parse(grant.exp) - Date.now();
    expect(ttl).toBeGreaterThan(200_000);
    expect(ttl).toBeLessThanOrEqual(300_000);

    const events = await eventsOf(reply.approval);
    expect(events.map((e) => e.type)).toEqual([
      'exec.approval.requested',
      'exec.approval.resolved',
      'exec.grant.issued',
    ]);
    expect(events.every((e) => e.correlationid === r.correlationId)).toBe(true);
    expect(events[0].causationid).toBe(r.causationId);
    expect(events[1].data).toMatchObject({
      decision: 'auto',
      rule: 'smart.safe-list',
      reason: expect.stringMatching(/proven safe/),
    });
    expect(events[2].data).toMatchObject({ grant: grant.grant, command: r.command, exp: grant.exp });
    expect(events[0]).toMatchObject({ actortype: 'service', actorid: 'gateway', trust: 'trusted' });

    // The same grant (same id, same bytes) every time it is asked for.
    expect((await grantOf(reply.approval)).grant).toEqual(reply.grant);
  });

  test('a command that is not proven safe asks: exec.approval.requested with reasons, mode, deadline, channel, conversation', async () => {
    const r = request({ command: 'npm test' });
    const reply = await evaluate(r);
    expect(reply).toMatchObject({
      status: 'pending',
      mode: 'smart',
      channel: 'talk-main',
      conversation: 'room-1',
    });
    expect(reply.grant).toBeUndefined();
    expect(reply.reasons).toContainEqual(expect.stringMatching(/npm is not on the safe list/));
    const events = await eventsOf(reply.approval);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'exec.approval.requested',
      correlationid: r.correlationId,
      data: {
        approval: reply.approval,
        command: 'npm test',
        mode: 'smart',
        deadline: reply.deadline,
        channel: 'talk-main',
        conversation: 'room-1',
        reasons: reply.reasons,
        limits: LIMITS,
        agent,
      },
    });
    const deadline = Date.parse(reply.deadline!) - Date.now();
    expect(deadline).toBeGreaterThan(0);
    expect(deadline).toBeLessThanOrEqual(TIMEOUT_S * 1000);
    await expect(rpcError(grantOf(reply.approval))).resolves.toMatchObject({ code: 'conflict' });
    await expect(
      rpc.request<ApprovalView>(APPROVALS_GET, { approval: reply.approval }),
    ).resolves.toMatchObject({ status: 'pending' });
    const listed = await waitFor('the read model', async () => {
      const { approvals } = await rpc.request<ApprovalsListReply>(APPROVALS_LIST, {
        status: 'pending',
        session: r.session,
      });
      return approvals.length ? approvals : undefined;
    });
    expect(listed).toEqual([
      expect.objectContaining({ approval: reply.approval, status: 'pending', command: 'npm test' }),
    ]);
    await decide({
      approval: reply.approval,
      decision: 'deny',
      decider: { type: 'user', id: 'cleanup' },
    }).catch(() => undefined);
  });

  test('approve: resolved approved with the decider, a grant for the requested command; a second decision is refused', async () => {
    const r = request({ command: 'npm test' });
    const { approval } = await evaluate(r);
    const reply = await decide({
      approval,
      decision: 'approve',
      decider: { type: 'user', id: 'alice' },
      causationId: uuidv7(),
    });
    expect(reply).toMatchObject({
      status: 'approved',
      decision: 'approved',
      decider: { type: 'user', id: 'alice' },
    });
    expect(verifyGrant(publicKey(), reply.grant!)).toMatchObject({
      approval,
      command: 'npm test',
      session: r.session,
      cwd: r.cwd,
      env: r.env,
    });
    const events = await eventsOf(approval);
    expect(events.map((e) => e.type)).toEqual([
      'exec.approval.requested',
      'exec.approval.resolved',
      'exec.grant.issued',
    ]);
    expect(events[1]).toMatchObject({
      actortype: 'user',
      actorid: 'alice',
      correlationid: r.correlationId,
      data: { decider: { type: 'user', id: 'alice' } },
    });

    for (const decision of ['approve', 'deny'] as const) {
      await expect(
        rpcError(decide({ approval, decision, decider: { type: 'user', id: 'mallory' } })),
      ).resolves.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/already resolved \(approved\)/),
      });
    }
    expect(await resolutions(approval)).toHaveLength(1);
  });

  test('two decisions racing each other: exactly one wins, the other gets conflict', async () => {
    const { approval } = await evaluate(request({ command: 'npm test' }));
    const outcomes = await Promise.allSettled([
      decide({ approval, decision: 'approve', decider: { type: 'user', id: 'alice' } }),
      decide({ approval, decision: 'deny', decider: { type: 'apikey', id: 'key-1' } }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(
      outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code),
    ).toEqual(['conflict']);
    expect(await resolutions(approval)).toHaveLength(1);
  });

  test('deny: resolved denied with the API key as decider; no grant can be had', async () => {
    const { approval } = await evaluate(request({ command: 'npm test' }));
    const reply = await decide({
      approval,
      decision: 'deny',
      reason: 'not now',
      decider: { type: 'apikey', id: 'key-7' },
    });
    expect(reply).toMatchObject({
      status: 'denied',
      decision: 'denied',
      reason: 'not now',
      decider: { type: 'apikey', id: 'key-7' },
    });
    expect(reply.grant).toBeUndefined();
    await expect(rpcError(grantOf(approval))).resolves.toMatchObject({ code: 'forbidden' });
    expect((await eventsOf(approval)).map((e) => e.type)).not.toContain('exec.grant.issued');
  });

  test('modify: the grant binds the edited command, and the event records it', async () => {
    const r = request({ command: 'npm test' });
    const { approval } = await evaluate(r);
    const reply = await decide({
      approval,
      decision: 'modify',
      command: 'npm test -- --runInBand',
      decider: { type: 'user', id: 'alice' },
    });
    expect(reply).toMatchObject({
      status: 'approved',
      decision: 'modified',
      command: 'npm test -- --runInBand',
    });
    expect(verifyGrant(publicKey(), reply.grant!).command).toBe('npm test -- --runInBand');
    expect(verifyGrant(publicKey(), (await grantOf(approval)).grant).command).toBe('npm test -- --runInBand');
    const resolved = (await resolutions(approval))[0];
    expect(resolved.data).toMatchObject({
      decision: 'modified',
      command: 'npm test -- --runInBand',
      decider: { type: 'user', id: 'alice' },
    });
  });

  test('never mode: the floor is denied unless an allow rule names the exact command', async () => {
    const denied = await evaluate(request({ agent: neverAgent, command: 'rm -rf /' }));
    expect(denied).toMatchObject({ status: 'denied', decision: 'denied', mode: 'never' });
    expect(denied.reason).toMatch(/mode never: dangerous command denied.*recursive delete of \//);
    expect(denied.grant).toBeUndefined();
    expect((await eventsOf(denied.approval)).map((e) => e.type)).toEqual([
      'exec.approval.requested',
      'exec.approval.resolved',
    ]);

    const allowed = await evaluate(request({ agent: neverAgent, command: 'rm -rf ~' }));
    expect(allowed).toMatchObject({ status: 'approved', decision: 'auto', rule: 'never.allow-rule' });
    expect(verifyGrant(publicKey(), allowed.grant!).command).toBe('rm -rf ~');

    const plain = await evaluate(request({ agent: neverAgent, command: 'npm test' }));
    expect(plain).toMatchObject({ status: 'approved', decision: 'auto', rule: 'never.policy' });

    // The stricter of agent and channel mode wins: a never channel cannot loosen a smart agent, an always channel tightens a never agent.
    await expect(evaluate(request({ channel: 'talk-never', command: 'npm test' }))).resolves.toMatchObject({
      status: 'pending',
      mode: 'smart',
    });
    await expect(
      evaluate(request({ agent: neverAgent, channel: 'talk-always', command: 'ls' })),
    ).resolves.toMatchObject({ status: 'pending', mode: 'always' });
  });

  test('never mode: a floor command put in by modify is denied, not granted', async () => {
    // A tainted session whose sandbox has egress asks even in never mode (contracts: it asks for every command).
    const r = request({
      agent: neverAgent,
      tainted: true,
      limits: { ...LIMITS, network: 'palisade-egress' },
      command: 'ls',
    });
    const { approval, status } = await evaluate(r);
    expect(status).toBe('pending');
    const reply = await decide({
      approval,
      decision: 'modify',
      command: 'rm -rf /',
      decider: { type: 'user', id: 'alice' },
    });
    expect(reply).toMatchObject({ status: 'denied', decision: 'denied', command: 'ls' });
    expect(reply.reason).toMatch(/modified command refused by the policy.*recursive delete of \//);
    expect(reply.grant).toBeUndefined();
    await expect(rpcError(grantOf(approval))).resolves.toMatchObject({ code: 'forbidden' });
  });

  test('always mode asks even for a safe command; an untrusted sender is never auto-approved (denied in never)', async () => {
    await expect(evaluate(request({ channel: 'talk-always', command: 'ls' }))).resolves.toMatchObject({
      status: 'pending',
      mode: 'always',
    });
    const untrusted = await evaluate(request({ trust: 'untrusted', command: 'ls' }));
    expect(untrusted).toMatchObject({ status: 'pending' });
    expect(untrusted.reasons).toContain('untrusted sender: commands are never auto-approved');
    expect((await eventsOf(untrusted.approval))[0].trust).toBe('untrusted');
    await expect(
      evaluate(request({ trust: 'untrusted', agent: neverAgent, command: 'ls' })),
    ).resolves.toMatchObject({
      status: 'denied',
      decision: 'denied',
    });
    // Tainted trusted session: safe commands still run while there is no egress; with egress they ask.
    await expect(evaluate(request({ tainted: true, command: 'ls' }))).resolves.toMatchObject({
      decision: 'auto',
      rule: 'smart.safe-list.tainted-no-egress',
    });
    await expect(
      evaluate(request({ tainted: true, command: 'ls', limits: { ...LIMITS, network: 'palisade-egress' } })),
    ).resolves.toMatchObject({
      status: 'pending',
    });
  });

  test('a channel sender decides only in the approval\u2019s own channel', async () => {
    const { approval } = await evaluate(request({ command: 'npm test' }));
    const channelRpc = new NatsRpcClient(channels, 10_000);
    await expect(
      rpcError(
        channelRpc.request(APPROVALS_DECIDE, {
          approval,
          decision: 'approve',
          decider: { type: 'sender', id: 'bob', channel: 'talk-other' },
        }),
      ),
    ).resolves.toMatchObject({ code: 'forbidden' });
    await expect(
      rpcError(
        channelRpc.request(APPROVALS_DECIDE, {
          approval,
          decision: 'approve',
          decider: { type: 'sender', id: 'bob' },
        }),
      ),
    ).resolves.toMatchObject({ code: 'validation_failed' });
    expect(await resolutions(approval)).toHaveLength(0);
    const reply = await channelRpc.request<ApprovalsDecideReply>(APPROVALS_DECIDE, {
      approval,
      decision: 'approve',
      decider: { type: 'sender', id: 'bob', channel: 'talk-main' },
    });
    expect(reply).toMatchObject({ decision: 'approved', decider: { type: 'sender', id: 'bob' } });
  });

  test('bad requests get a clear error and append nothing', async () => {
    await expect(
      rpcError(evaluate({ ...request(), extra: 1 } as ApprovalsEvaluateRequest)),
    ).resolves.toMatchObject({ code: 'validation_failed' });
    await expect(rpcError(evaluate(request({ cwd: 'relative' })))).resolves.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      rpcError(evaluate(request({ limits: { ...LIMITS, network: 'host' } }))),
    ).resolves.toMatchObject({ code: 'validation_failed' });
    const { approval } = await evaluate(request({ command: 'npm test' }));
    await expect(
      rpcError(decide({ approval, decision: 'modify', decider: { type: 'user', id: 'a' } })),
    ).resolves.toMatchObject({ code: 'validation_failed' });
    await expect(
      rpcError(decide({ approval, decision: 'approve', command: 'x', decider: { type: 'user', id: 'a' } })),
    ).resolves.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      rpcError(decide({ approval: uuidv7(), decision: 'approve', decider: { type: 'user', id: 'a' } })),
    ).resolves.toMatchObject({ code: 'not_found' });
    expect(await resolutions(approval)).toHaveLength(0);
  });

  test('approved but the grant never issued (a crash in between): cmd.approvals.grant issues it once, then returns the same', async () => {
    const { approval } = await evaluate(request({ command: 'npm test' }));
    const [requested] = await store.readAggregate('approval', approval);
    // What approvals appends first when it approves, written here without the grant that would follow.
    await store.append(
      createEvent({
        type: 'exec.approval.resolved',
        source: 'approvals',
        aggregateId: approval,
        correlationId: requested.event.correlationid,
        actor: { type: 'user', id: 'alice' },
        trust: 'trusted',
        data: {
          approval,
          decision: 'approved',
          decider: { type: 'user', id: 'alice' },
          reason: 'approved by user alice',
        },
      }),
      requested.seq,
    );
    const [first, second] = await Promise.all([grantOf(approval), grantOf(approval)]);
    expect(second.grant).toEqual(first.grant);
    expect(verifyGrant(publicKey(), first.grant)).toMatchObject({ approval, command: 'npm test' });
    expect((await eventsOf(approval)).filter((e) => e.type === 'exec.grant.issued')).toHaveLength(1);
  });

  test('no decision within the timeout: resolved timeout, treated as denied', async () => {
    const { approval } = await evaluate(request({ command: 'npm test' }));
    const resolved = await waitFor(
      'the timeout',
      async () => (await resolutions(approval))[0],
      (TIMEOUT_S + 10) * 1000,
      200,
    );
    expect(resolved).toMatchObject({
      actortype: 'service',
      actorid: 'approvals',
      data: { decision: 'timeout' },
    });
    await expect(rpc.request<ApprovalView>(APPROVALS_GET, { approval })).resolves.toMatchObject({
      status: 'denied',
      decision: 'timeout',
    });
    await expect(
      rpcError(decide({ approval, decision: 'approve', decider: { type: 'user', id: 'late' } })),
    ).resolves.toMatchObject({ code: 'conflict' });
    await expect(rpcError(grantOf(approval))).resolves.toMatchObject({ code: 'forbidden' });
  });

  test('a pending approval survives a crash of approvals: the restarted process times it out, once', async () => {
    const { approval } = await evaluate(request({ command: 'npm test' }));
    primary.child.kill('SIGKILL');
    await primary.stop();
    expect(await resolutions(approval)).toHaveLength(0);
    primary = startServiceProcess('approvals', env);
    await waitHealthy(admin, 'approvals');
    await waitFor(
      'the timeout after restart',
      async () => (await resolutions(approval)).length > 0,
      (TIMEOUT_S + 15) * 1000,
      200,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const resolved = await resolutions(approval);
    expect(resolved).toHaveLength(1);
    expect(resolved[0].data).toMatchObject({ decision: 'timeout' });
  });

  test('two replicas: every pending approval gets exactly one timeout event', async () => {
    const second = startServiceProcess('approvals', env);
    try {
      await waitFor('the second replica', () => second.output().includes('approvals ready'), 20_000, 100);
      const approvals = await Promise.all(
        [1, 2, 3, 4].map(async () => (await evaluate(request({ command: 'npm test' }))).approval),
      );
      for (const approval of approvals) {
        await waitFor(
          'the timeout',
          async () => (await resolutions(approval)).length > 0,
          (TIMEOUT_S + 10) * 1000,
          200,
        );
      }
      await new Promise((r) => setTimeout(r, 1_500)); // both sweeps have run again since
      for (const approval of approvals) {
        const resolved = await resolutions(approval);
        expect(resolved.map((e) => e.data.decision)).toEqual(['timeout']);
      }
    } finally {
      await second.stop();
    }
  });

  test('freezing the agent denies its pending approvals and refuses new evaluations until thawed', async () => {
    const pending = await Promise.all(
      [1, 2].map(async () => (await evaluate(request({ command: 'npm test' }))).approval),
    );
    const gatewayStore = new EventStore(gateway);
    await gatewayStore.append(
      createEvent({
        type: 'agent.frozen',
        source: 'gateway',
        aggregateId: agent,
        data: { reason: 'incident' },
        actor: { type: 'user', id: 'admin' },
        trust: 'trusted',
      }),
    );
    for (const approval of pending) {
      const resolved = await waitFor(
        'the freeze denial',
        async () => (await resolutions(approval))[0],
        10_000,
        100,
      );
      expect(resolved.data).toMatchObject({ decision: 'denied', reason: 'agent frozen: incident' });
    }
    await expect(rpcError(evaluate(request({ command: 'ls' })))).resolves.toMatchObject({ code: 'frozen' });
    await gatewayStore.append(
      createEvent({
        type: 'agent.thawed',
        source: 'gateway',
        aggregateId: agent,
        data: {},
        actor: { type: 'user', id: 'admin' },
        trust: 'trusted',
      }),
    );
    await expect(evaluate(request({ command: 'ls' }))).resolves.toMatchObject({ decision: 'auto' });
  });

  test('health reports the projection position', async () => {
    const reply = await admin.request('health.approvals', '', { timeout: 2_000 });
    const health = reply.json<{
      data: { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    }>().data;
    expect(health.status).toBe('ok');
    expect(health.checks.projection).toMatchObject({ ok: true, detail: expect.stringMatching(/^at \d+$/) });
    expect(health.checks.postgres.ok).toBe(true);
  });
});
