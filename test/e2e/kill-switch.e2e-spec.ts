// The kill switch end to end: one admin call freezes the whole agent, and each effect is seen on the
// real services — other keys revoked, the pending approval denied, the running sandbox stopped, cron
// silent, new turns refused — then a thaw lifts only the freeze (revoked keys stay revoked).
import type { ExecApprovalRequestedData, ExecStartedData, PalisadeEvent } from '@palisade/contracts';
import { type OllamaChatRequest, PalisadeStack } from '@palisade/testing';

/** "run <command>" → an exec tool call; a tool result → "Result: …"; anything else is echoed. */
function scriptedModel(request: OllamaChatRequest) {
  const last = request.messages[request.messages.length - 1];
  if (last.role === 'tool') return { content: `Result: ${last.content}` };
  const match = /^run (.+)$/s.exec(last.content);
  if (match && request.tools?.some((t) => t.function.name === 'exec'))
    return { toolCalls: [{ name: 'exec', arguments: { command: match[1] } }] };
  return { content: `You said: ${last.content}` };
}

describe('kill switch: POST /api/agent/freeze stops everything at once, thaw lifts only the freeze', () => {
  const stack = new PalisadeStack({
    cloud: false,
    env: {
      approvals: { PALISADE_APPROVALS_TIMEOUT_S: '300' },
      // The API answers 202 at once; the test follows the turn through its events.
      gateway: { PALISADE_GATEWAY_API_TURN_WAIT_MS: '100' },
    },
  });

  beforeAll(async () => {
    await stack.start();
    stack.ollama!.setHandler(scriptedModel);
    await stack.admit('users/alice', 'execute');
  }, 180_000);

  afterAll(async () => {
    // Leave the shared log thawed for whatever runs next.
    await stack.api('POST', '/api/agent/thaw', { reason: 'test cleanup' }).catch(() => undefined);
    await stack.stop();
  });

  const newSession = async () => (await stack.api<{ session: string }>('POST', '/api/sessions')).body.session;
  const send = (session: string, text: string) =>
    stack.api('POST', `/api/sessions/${session}/messages`, { text });
  const typeIs =
    (...types: string[]) =>
    (e: PalisadeEvent) =>
      types.includes(e.type);

  test('every effect of a freeze, then a thaw that keeps revoked keys revoked', async () => {
    const start = await stack.store.lastSeq();
    const bystander = await stack.createApiKey('bystander', ['operator.read']);
    expect((await stack.api('GET', '/api/cron/jobs', undefined, bystander.key)).status).toBe(200);

    // 1. A command waiting for a human.
    const pendingSession = await newSession();
    expect((await send(pendingSession, 'run rm -rf build')).status).toBeLessThan(300);
    const requested = (await stack.waitForEvent(
      start,
      (e) =>
        e.type === 'exec.approval.requested' &&
        (e.data as ExecApprovalRequestedData).command === 'rm -rf build',
    )) as PalisadeEvent<ExecApprovalRequestedData>;

    // 2. A command running in the sandbox (auto-approved: `sleep` is on the safe list).
    const runningSession = await newSession();
    expect((await send(runningSession, 'run sleep 120')).status).toBeLessThan(300);
    const started = await stack.waitForEvent(
      start,
      (e) => e.type === 'exec.started' && (e.data as ExecStartedData).session === runningSession,
      60_000,
    );

    // 3. A cron job that fires every two seconds.
    const cronSession = await newSession();
    const job = await stack.api<{ job: string }>('POST', '/api/cron/jobs', {
      kind: 'every',
      expr: '2s',
      session: cronSession,
      prompt: 'tick',
    });
    expect(job.status).toBe(201);
    await stack.waitForEvent(start, (e) => e.type === 'cron.job.fired' && e.subject === job.body.job, 30_000);

    // Freeze.
    const beforeFreeze = await stack.store.lastSeq();
    const frozen = await stack.api<{ frozen: boolean; revokedKeys: { id: string }[] }>(
      'POST',
      '/api/agent/freeze',
      {
        reason: 'incident drill',
      },
    );
    expect(frozen.status).toBe(200);
    expect(frozen.body.frozen).toBe(true);
    expect(frozen.body.revokedKeys.map((k) => k.id)).toContain(bystander.id);
    await stack.waitForEvent(beforeFreeze, typeIs('agent.frozen'));

    // Other keys are revoked; the caller's key still works (to thaw).
    expect((await stack.api('GET', '/api/cron/jobs', undefined, bystander.key)).status).toBe(401);
    // State-changing calls are refused while frozen.
    expect((await send(pendingSession, 'hello')).status).toBe(423);

    // The pending approval is denied.
    const denied = await stack.waitForEvent(
      beforeFreeze,
      (e) => e.type === 'exec.approval.resolved' && e.subject === requested.data.approval,
      30_000,
    );
    expect(denied.data).toMatchObject({ decision: 'denied' });
    expect(JSON.stringify(denied.data)).toMatch(/frozen/);

    // The running sandbox is stopped long before its `sleep 120` would have ended.
    const ended = await stack.waitForEvent(
      beforeFreeze,
      (e) =>
        typeIs('exec.finished', 'exec.failed')(e) &&
        (e.data as { exec: string }).exec === (started.data as ExecStartedData).exec,
      30_000,
    );
    expect((ended.data as { exitCode?: number }).exitCode).not.toBe(0);

    // Cron stays silent (the job would fire ~4 times in this window) and says why.
    const quietFrom = await stack.store.lastSeq();
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await stack.eventsSince(quietFrom, (e) => e.type === 'cron.job.fired')).toEqual([]);
    const health = await stack.gateway.call('/healthz');
    expect(JSON.stringify(health.json.services.cron)).toMatch(/frozen/);

    // A Talk message from an admitted sender starts no work: the turn is refused.
    const token = `room-${Date.now().toString(36)}`;
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const talkFrom = await stack.store.lastSeq();
    expect(
      (
        await stack.talk!.sendMessage({
          conversationToken: token,
          actorId: 'users/alice',
          text: 'run id',
          bot: 'palisade',
        })
      ).status,
    ).toBe(200);
    const refused = await stack.waitForEvent(talkFrom, typeIs('agent.turn.failed'), 30_000);
    expect(JSON.stringify(refused.data)).toMatch(/frozen/);
    expect(
      await stack.eventsSince(
        talkFrom,
        typeIs('exec.approval.requested', 'exec.started', 'agent.tool.called'),
      ),
    ).toEqual([]);

    // Thaw: only the freeze is lifted.
    const thawFrom = await stack.store.lastSeq();
    expect((await stack.api('POST', '/api/agent/thaw', { reason: 'drill over' })).status).toBe(200);
    await stack.waitForEvent(thawFrom, typeIs('agent.thawed'));
    expect((await stack.api('GET', '/api/cron/jobs', undefined, bystander.key)).status).toBe(401);
    await stack.waitForEvent(
      thawFrom,
      (e) => e.type === 'cron.job.fired' && e.subject === job.body.job,
      30_000,
    );
    expect((await stack.api('DELETE', `/api/cron/jobs/${job.body.job}`)).status).toBeLessThan(300);
    const afterThaw = await send(await newSession(), 'hello again');
    expect(afterThaw.status).toBeLessThan(300);
  });
});
