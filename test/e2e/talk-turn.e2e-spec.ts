// The walking skeleton end to end: a signed Nextcloud Talk message becomes an approved, sandboxed
// command and a signed reply, through every service as its own process on the real NATS, PostgreSQL
// and Docker. Only Nextcloud (Talk, Passwords) and the models are stand-ins.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { createPrivateKey } from 'node:crypto';
import {
  type ExecApprovalRequestedData,
  type Grant,
  type PalisadeEvent,
  RpcError,
  SANDBOX_INFO,
  SANDBOX_RUN,
  type SandboxInfoReply,
  signGrant,
  uuidv7,
} from '@palisade/contracts';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  keyFileOf,
  palisadeHome,
  PalisadeStack,
  repoRoot,
  waitFor,
  type OllamaChatRequest,
} from '@palisade/testing';

const run = promisify(execFile);

/** The model stand-in: "run <command>" → exec tool call; a tool result → "Result: <output>"; else echo. */
function scriptedModel(request: OllamaChatRequest) {
  const last = request.messages[request.messages.length - 1];
  if (last.role === 'tool') return { content: `Result: ${last.content}` };
  const match = /^run (.+)$/s.exec(last.content);
  if (match && request.tools?.some((t) => t.function.name === 'exec'))
    return { toolCalls: [{ name: 'exec', arguments: { command: match[1] } }] };
  return { content: `You said: ${last.content}` };
}

describe('walking skeleton: Talk → channels → gateway → llm-router → approvals → sandbox-exec → Talk', () => {
  const stack = new PalisadeStack({
    env: { approvals: { PALISADE_APPROVALS_TIMEOUT_S: '15' } },
  });
  let soc: NatsConnection;
  let socSub: Subscription;
  const socSeen = new Map<string, string>();
  let startSeq = 0;

  beforeAll(async () => {
    soc = await connectAs('soc');
    socSub = soc.subscribe('audit.>');
    void (async () => {
      for await (const msg of socSub) {
        try {
          const record = msg.json<{ id?: string; type?: string }>();
          if (record.id) socSeen.set(record.id, msg.subject);
        } catch {
          // checkpoints and anything else that is not an event record
        }
      }
    })();
    await stack.start();
    startSeq = await stack.store.lastSeq();
    stack.ollama!.setHandler(scriptedModel);
    await stack.admit('users/alice', 'execute');
    await stack.admit('users/root-admin', 'admin');
    await stack.admit('users/reader', 'read-only');
  }, 180_000);

  afterAll(async () => {
    await socSub?.unsubscribe();
    await soc?.close();
    await stack.stop();
  });

  const room = () => `room-${uuidv7().slice(-12)}`;
  const say = (conversationToken: string, actorId: string, text: string) =>
    stack.talk!.sendMessage({ conversationToken, actorId, text, bot: 'palisade' });
  const repliesIn = (token: string) => stack.talk!.botMessages(token).map((m) => m.message);
  const waitReply = (token: string, pattern: RegExp, timeoutMs = 60_000) =>
    waitFor(
      `reply matching ${pattern} in ${token}`,
      () => repliesIn(token).find((m) => pattern.test(m)),
      timeoutMs,
      100,
    );

  async function approvalFor(
    fromSeq: number,
    command: string,
  ): Promise<PalisadeEvent<ExecApprovalRequestedData>> {
    return (await stack.waitForEvent(
      fromSeq,
      (e) =>
        e.type === 'exec.approval.requested' && (e.data as ExecApprovalRequestedData).command === command,
    )) as PalisadeEvent<ExecApprovalRequestedData>;
  }

  /** Every event of the turn carries the message's correlation id, and the causal chain is complete. */
  async function expectChain(correlationId: string, types: string[]): Promise<PalisadeEvent[]> {
    const chain = await waitFor(
      'causal chain',
      async () => {
        const events = (await stack.eventsSince(startSeq, (e) => e.correlationid === correlationId)).map(
          (s) => s.event,
        );
        return types.every((t) => events.some((e) => e.type === t)) ? events : undefined;
      },
      30_000,
      250,
    );
    return chain;
  }

  test('an execute-level sender: approval requested, operator approves, the sandbox runs it, a signed reply carries the output', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const from = await stack.store.lastSeq();
    const sent = await say(token, 'users/alice', 'run echo hello && id -u');
    expect(sent.status).toBe(200);
    const requested = await approvalFor(from, 'echo hello && id -u');
    // The conversation is told what needs approval and its id.
    await waitReply(token, new RegExp(`Approval id: ${requested.data.approval}`));
    const decided = await stack.api('POST', `/api/approvals/${requested.data.approval}/decide`, {
      decision: 'approve',
    });
    expect(decided.status).toBe(200);
    const reply = await waitReply(token, /^Result: /);
    expect(reply).toMatch(/hello/);
    const uid = /exit code: 0\nstdout:\nhello\n(\d+)/.exec(reply)?.[1];
    expect(uid).toBeDefined();
    expect(Number(uid)).not.toBe(0);
    // The stand-in only records replies whose signature verified with the bot secret.
    const chain = await expectChain(requested.correlationid, [
      'chat.message.received',
      'agent.turn.started',
      'agent.tool.called',
      'exec.approval.requested',
      'exec.approval.resolved',
      'exec.grant.issued',
      'exec.grant.used',
      'exec.started',
      'exec.finished',
      'agent.tool.result',
      'chat.message.sent',
      'agent.turn.completed',
    ]);
    const resolved = chain.find((e) => e.type === 'exec.approval.resolved')!;
    expect(resolved.data).toMatchObject({ decision: 'approved', decider: { type: 'apikey' } });
  });

  test('deny: nothing runs and the reply says so', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const from = await stack.store.lastSeq();
    await say(token, 'users/alice', 'run touch /workspace/denied-marker');
    const requested = await approvalFor(from, 'touch /workspace/denied-marker');
    expect(
      (
        await stack.api('POST', `/api/approvals/${requested.data.approval}/decide`, {
          decision: 'deny',
          reason: 'not today',
        })
      ).status,
    ).toBe(200);
    const reply = await waitReply(token, /^Result: /);
    expect(reply).toMatch(/not run: denied/);
    const chain = await expectChain(requested.correlationid, [
      'exec.approval.resolved',
      'chat.message.sent',
      'agent.turn.completed',
    ]);
    expect(chain.some((e) => e.type === 'exec.started')).toBe(false);
  });

  test('timeout: no decision in time is a denial', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const from = await stack.store.lastSeq();
    await say(token, 'users/alice', 'run rm -rf /workspace/tmp');
    const requested = await approvalFor(from, 'rm -rf /workspace/tmp');
    const reply = await waitReply(token, /^Result: /, 60_000);
    expect(reply).toMatch(/not run: no decision in time/);
    const chain = await expectChain(requested.correlationid, ['exec.approval.resolved']);
    expect(chain.find((e) => e.type === 'exec.approval.resolved')!.data).toMatchObject({
      decision: 'timeout',
    });
    expect(chain.some((e) => e.type === 'exec.started')).toBe(false);
  });

  test('`approve <id>` from a non-admin is ignored and audited; from a channel admin it counts', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const from = await stack.store.lastSeq();
    await say(token, 'users/alice', 'run echo from-chat');
    const requested = await approvalFor(from, 'echo from-chat');
    await say(token, 'users/alice', `approve ${requested.data.approval}`);
    const ignored = await stack.waitForEvent(from, (e) => e.type === 'channel.approval.ignored');
    expect(ignored.data).toMatchObject({ sender: 'users/alice', approval: requested.data.approval });
    const state = await stack.api<{ status: string }>('GET', `/api/approvals/${requested.data.approval}`);
    expect(state.body.status).toBe('pending');
    // The channel admin's answer is the decision, recorded with the sender as decider.
    await say(token, 'users/root-admin', `approve ${requested.data.approval}`);
    const reply = await waitReply(token, /^Result: /);
    expect(reply).toMatch(/from-chat/);
    const resolved = await stack.waitForEvent(
      from,
      (e) =>
        e.type === 'exec.approval.resolved' &&
        (e.data as { approval: string }).approval === requested.data.approval,
    );
    expect(resolved.data).toMatchObject({
      decision: 'approved',
      decider: { type: 'sender', id: 'users/root-admin' },
    });
  });

  test('an unknown sender waits (nothing reaches the model); after admission the next message works', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const stranger = `users/stranger-${uuidv7().slice(-8)}`;
    const before = stack.ollama!.chatRequests.length;
    const from = await stack.store.lastSeq();
    await say(token, stranger, 'hello, who are you?');
    await say(token, stranger, 'hello again');
    await waitReply(token, /waiting for an operator/i);
    await stack.waitForEvent(
      from,
      (e) => e.type === 'channel.sender.pending' && (e.data as { sender: string }).sender === stranger,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(
      stack
        .ollama!.chatRequests.slice(before)
        .some((r) => JSON.stringify(r.messages).includes('who are you')),
    ).toBe(false);
    expect(repliesIn(token).filter((m) => /waiting for an operator/i.test(m))).toHaveLength(1);
    await stack.admit(stranger, 'execute');
    await say(token, stranger, 'now?');
    await waitReply(token, /^You said: now\?/);
  });

  test('a read-only sender is offered no exec tool', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const before = stack.ollama!.chatRequests.length;
    await say(token, 'users/reader', 'run id');
    await waitReply(token, /^You said: run id/);
    const requests = stack
      .ollama!.chatRequests.slice(before)
      .filter((r) => JSON.stringify(r.messages).includes('run id'));
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect((r.tools ?? []).map((t) => t.function.name)).not.toContain('exec');
  });

  test('a bad signature: 401, an audit event, and nothing else', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    const from = await stack.store.lastSeq();
    const result = await stack.talk!.sendMessage({
      conversationToken: token,
      actorId: 'users/alice',
      text: 'forged',
      bot: 'palisade',
      wrongSignature: true,
    });
    expect(result.status).toBe(401);
    await stack.waitForEvent(from, (e) => e.type === 'channel.webhook.rejected');
    await new Promise((r) => setTimeout(r, 1_000));
    // Nothing about that conversation or its text entered the log (other jobs may be firing meanwhile).
    const after = await stack.eventsSince(from);
    expect(
      after.filter(
        (e) => JSON.stringify(e.event).includes(token) || JSON.stringify(e.event).includes('forged'),
      ),
    ).toEqual([]);
    expect(repliesIn(token)).toEqual([]);
  });

  test('cmd.sandbox.run without a grant, with a forged one, or reusing a used one: refused and audited', async () => {
    const gateway = await connectAs('gateway');
    const rpc = new NatsRpcClient(gateway, 30_000);
    try {
      const info = await rpc.request<SandboxInfoReply>(SANDBOX_INFO, {});
      const session = uuidv7();
      const request = { session, command: 'echo granted', cwd: '/workspace', env: {}, image: info.image };
      const from = await stack.store.lastSeq();
      await expect(rpc.request(SANDBOX_RUN, request)).rejects.toBeInstanceOf(RpcError);
      // A grant signed with the wrong key (the ledger's) is forged.
      const grant: Grant = {
        grant: uuidv7(),
        approval: uuidv7(),
        session,
        command: request.command,
        cwd: request.cwd,
        env: {},
        image: info.image,
        limits: info.limits,
        exp: new Date(Date.now() + 60_000).toISOString(),
      };
      const forged = signGrant(createPrivateKey(readFileSync(keyFileOf('ledger-checkpoint'))), grant);
      await expect(rpc.request(SANDBOX_RUN, { ...request, grant: forged })).rejects.toMatchObject({
        code: expect.any(String),
      });
      const genuine = signGrant(createPrivateKey(readFileSync(keyFileOf('approvals-grant'))), grant);
      const first = await rpc.request<{ stdout: string }>(SANDBOX_RUN, { ...request, grant: genuine });
      expect(first.stdout).toContain('granted');
      await expect(rpc.request(SANDBOX_RUN, { ...request, grant: genuine })).rejects.toBeInstanceOf(RpcError);
      const refusals = await waitFor('refusals', async () => {
        const found = await stack.eventsSince(from, (e) => e.type === 'exec.grant.refused');
        return found.length >= 2 ? found : undefined;
      });
      expect(refusals.map((r) => (r.event.data as { code?: string }).code)).toEqual(
        expect.arrayContaining(['bad_signature', 'already_used']),
      );
    } finally {
      await gateway.close();
    }
  });

  test('a trusted operator turn goes to the cloud model with a key fetched at use; the key is found nowhere afterwards', async () => {
    const before = stack.cloud!.requests.length;
    const session = (await stack.api<{ session: string }>('POST', '/api/sessions')).body.session;
    const res = await stack.api<{ status: string; reply: string }>(
      'POST',
      `/api/sessions/${session}/messages`,
      { text: 'summarise the weather' },
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(stack.cloud!.requests.length).toBeGreaterThan(before);
    const accessed = await stack.waitForEvent(startSeq, (e) => e.type === 'credential.accessed');
    expect(accessed.data).toMatchObject({ entry: stack.cloudEntryId });
    await new Promise((r) => setTimeout(r, 2_000));
    const forms = [
      stack.cloudKey,
      Buffer.from(stack.cloudKey).toString('base64'),
      Buffer.from(stack.cloudKey).toString('hex'),
    ];
    const hits: string[] = [];
    const scan = (dir: string, depth = 0) => {
      if (!existsSync(dir) || depth > 12) return;
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        let st;
        try {
          st = statSync(path);
        } catch {
          continue;
        }
        if (st.isDirectory()) scan(path, depth + 1);
        else if (st.isFile() && st.size < 256 * 1024 * 1024) {
          const content = readFileSync(path);
          for (const form of forms) if (content.includes(form)) hits.push(path);
        }
      }
    };
    const pgDir = readFileSync(join(palisadeHome(), 'pg.location'), 'utf8').trim();
    scan(pgDir);
    scan(join(palisadeHome(), 'nats'));
    scan(join(palisadeHome(), 'logs'));
    // The stack's own secret files hold only the Passwords app password and bot secret, not the key.
    for (const entry of readdirSync(tmpdir()))
      if (entry.startsWith('palisade-') && !join(tmpdir(), entry).startsWith(stack.dir))
        scan(join(tmpdir(), entry));
    const logs = stack.logs();
    for (const form of forms) expect(logs.includes(form)).toBe(false);
    const { stdout: containers } = await run('docker', [
      'ps',
      '-aq',
      '--filter',
      'label=palisade.managed=true',
    ]);
    for (const id of containers.split('\n').filter(Boolean)) {
      const { stdout: inspect } = await run('docker', ['inspect', id]);
      for (const form of forms) expect(inspect.includes(form)).toBe(false);
    }
    expect(hits).toEqual([]);
  });

  test('a cron job fires on schedule and produces a turn; the 11th creation inside a minute is refused', async () => {
    const token = room();
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    // The job's session is the admin's Talk session in that room (so its reply goes there).
    // An admin is trusted: the clean turn goes to the cloud stand-in, which echoes.
    await say(token, 'users/root-admin', 'hello');
    await waitReply(token, /hello/);
    const { sessionIdOf } = await import('@palisade/contracts');
    const session = sessionIdOf(stack.channel, token, 'users/root-admin');
    const at = new Date(Date.now() + 3_000).toISOString();
    const created = await stack.api<{ job: string }>('POST', '/api/cron/jobs', {
      kind: 'at',
      expr: at,
      session,
      prompt: 'cron says tick',
    });
    expect(created.status).toBe(201);
    await waitReply(token, /cron says tick/, 30_000);
    const fired = await stack.waitForEvent(
      startSeq,
      (e) => e.type === 'cron.job.fired' && (e.data as { job: string }).job === created.body.job,
    );
    await expectChain(fired.correlationid, [
      'cron.job.fired',
      'chat.message.received',
      'agent.turn.started',
      'chat.message.sent',
      'agent.turn.completed',
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await stack.api('POST', '/api/cron/jobs', {
        kind: 'every',
        expr: '1h',
        session,
        prompt: `job ${i}`,
      });
      statuses.push(res.status);
    }
    // One creation above already counts in the window.
    expect(statuses.filter((s) => s === 201).length).toBe(9);
    expect(statuses[statuses.length - 1]).toBe(429);
  });

  test('the ledger verifies and the SOC subscriber saw every audit record live', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(repoRoot(), 'bin', 'palisade.js'), 'audit', 'verify'],
      { env: { ...process.env } },
    );
    expect(stdout).toMatch(/^ledger OK: \d+ entries/);
    const events = await stack.eventsSince(startSeq);
    await waitFor(
      'soc saw everything',
      () => (events.every((e) => socSeen.has(e.event.id)) ? true : undefined),
      30_000,
      250,
    );
    for (const { event } of events) expect(socSeen.get(event.id)).toBe(`audit.${event.type}`);
  });
});
