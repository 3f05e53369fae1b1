// The channels service as its own process against the real nats-server and PostgreSQL, with the Talk
// stand-in playing Nextcloud on both sides (signed webhooks in, signed bot replies out).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  CHANNELS_SENDERS_ADMIT,
  CHANNELS_SENDERS_LIST,
  CHANNELS_SENDERS_REJECT,
  channelIdOf,
  createEvent,
  type PalisadeEvent,
  senderIdOf,
  type SenderView,
  sessionIdOf,
  uuidv7,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  serviceEnv,
  ServiceProcess,
  startServiceProcess,
  TalkStandin,
  waitFor,
  waitHealthy,
} from '@palisade/testing';

const SECRET = 'talk-bot-secret-for-tests-0123456789abcdefghijklmnop';
const WRONG_SECRET = 'not-the-secret-nextcloud-knows-0123456789abcdefghij';
const AUDIT_PER_MINUTE = 8;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('channels (real NATS + PostgreSQL, channels as a process, Talk stand-in)', () => {
  // Unique per run: the event log and the replay guard outlive test runs.
  const run = uuidv7().replace(/-/g, '').slice(-10);
  const room = (n: string) => `r${run}${n}`;
  // Its undelivered replies outlive the run (pending behind the open circuit): a fresh name each run.
  const BAD = `talk-bad-${run}`;
  const user = (n: string) => `users/${n}-${run}`;
  const hook = (channel: string) => `${base}/webhooks/talk/${channel}`;

  let dir: string;
  let base: string;
  let talk: TalkStandin;
  let channels: ServiceProcess;
  let admin: NatsConnection;
  let gateway: NatsConnection;
  let store: EventStore;
  let gatewayStore: EventStore;
  let rpc: NatsRpcClient;
  let startSeq: number;

  const admit = (channel: string, sender: string, level: 'read-only' | 'execute' | 'admin') =>
    rpc.request<SenderView>(CHANNELS_SENDERS_ADMIT, {
      channel,
      sender,
      level,
      actor: { type: 'user', id: 'operator' },
    });
  const events = async (type: 'session' | 'sender' | 'channel', id: string): Promise<PalisadeEvent[]> =>
    (await store.readAggregate(type, id)).filter((s) => s.seq > startSeq).map((s) => s.event);
  const sessionEvents = (channel: string, conversation: string, sender: string) =>
    events('session', sessionIdOf(channel, conversation, sender));
  const channelEvents = async (channel: string, type: string) =>
    (await events('channel', channelIdOf(channel))).filter((e) => e.type === type);
  const send = (o: Parameters<TalkStandin['sendMessage']>[0]) => talk.sendMessage({ bot: 'palisade', ...o });
  /** Waits for the chat.message.received of one Talk message id. */
  const received = (channel: string, conversation: string, sender: string, messageId: string) =>
    waitFor(`chat.message.received for ${messageId}`, async () =>
      (await sessionEvents(channel, conversation, sender)).find(
        (e) =>
          e.type === 'chat.message.received' && (e.data as { messageId: string }).messageId === messageId,
      ),
    );
  const health = async () =>
    (await admin.request('health.channels', '', { timeout: 2_000 })).json<{
      data: { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    }>().data;
  const sent = (channel: string, conversation: string, text: string, inReplyTo?: string) =>
    gatewayStore.append(
      createEvent({
        type: 'chat.message.sent',
        source: 'gateway',
        aggregateId: sessionIdOf(channel, conversation, user('alice')),
        data: { channel, conversation, text, ...(inReplyTo ? { inReplyTo } : {}) },
        actor: { type: 'service', id: 'gateway' },
        trust: 'untrusted',
      }),
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-channels-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    talk = new TalkStandin({
      bots: [{ name: 'palisade', secret: SECRET, url: `${base}/webhooks/talk/talk-test` }],
    });
    const { url: talkUrl } = await talk.start();
    for (const n of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) talk.enableBot('palisade', room(n));
    writeFileSync(join(dir, 'talk.secret'), SECRET, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong.secret'), WRONG_SECRET, { mode: 0o600 });
    chmodSync(join(dir, 'talk.secret'), 0o600);
    // http baseUrl, configured explicitly (the stand-in is plain HTTP on loopback).
    const config = [
      { name: 'talk-test', kind: 'talk', baseUrl: `${talkUrl}/`, secretFile: join(dir, 'talk.secret') },
      { name: 'talk-flood', kind: 'talk', baseUrl: talkUrl, secretFile: join(dir, 'talk.secret') },
      { name: BAD, kind: 'talk', baseUrl: talkUrl, secretFile: join(dir, 'wrong.secret') },
    ];
    writeFileSync(join(dir, 'channels.json'), JSON.stringify(config));

    admin = await connectAs('admin');
    gateway = await connectAs('gateway');
    store = new EventStore(admin);
    gatewayStore = new EventStore(gateway);
    rpc = new NatsRpcClient(gateway, 10_000);
    startSeq = await store.lastSeq();
    channels = startServiceProcess(
      'channels',
      serviceEnv('channels', {
        PALISADE_CHANNELS_FILE: join(dir, 'channels.json'),
        PALISADE_CHANNELS_PORT: String(port),
        PALISADE_CHANNELS_AUDIT_PER_MINUTE: String(AUDIT_PER_MINUTE),
      }),
    );
    await waitHealthy(admin, 'channels', 30_000);
    await admit('talk-test', user('alice'), 'execute');
    await admit('talk-test', user('bob'), 'admin');
  });

  afterAll(async () => {
    await channels?.stop();
    await talk?.stop();
    await admin?.close();
    await gateway?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a signed message from an admitted sender becomes chat.message.received in its session: execute untrusted, admin trusted', async () => {
    // Default stand-in bodies are PHP-encoded ("users\/…", "\u00e9"): verified over the raw bytes.
    const a = await send({
      conversationToken: room('1'),
      actorId: user('alice'),
      actorName: 'Alice',
      text: 'héllo / wörld 😀',
    });
    expect(a.rawBody).toContain('\\/');
    expect(a.rawBody).toContain('\\u00e9');
    expect(a.status).toBe(200);
    const fromAlice = await received('talk-test', room('1'), user('alice'), a.messageId!);
    expect(fromAlice).toMatchObject({
      source: 'palisade/channels',
      subject: sessionIdOf('talk-test', room('1'), user('alice')),
      trust: 'untrusted',
      actortype: 'sender',
      actorid: user('alice'),
      data: {
        channel: 'talk-test',
        conversation: room('1'),
        sender: user('alice'),
        text: 'héllo / wörld 😀',
        level: 'execute',
      },
    });
    expect(fromAlice.correlationid).toBe(fromAlice.id);

    const b = await send({ conversationToken: room('1'), actorId: user('bob'), text: 'admin here' });
    const fromBob = await received('talk-test', room('1'), user('bob'), b.messageId!);
    expect(fromBob).toMatchObject({ trust: 'trusted', data: { level: 'admin', text: 'admin here' } });
  });

  test('bad signature, missing headers, wrong backend → 401; oversize → 413; each audited, nothing else appended', async () => {
    const before = await store.lastSeq();
    const base1 = { conversationToken: room('2'), actorId: user('alice'), text: 'should never arrive' };
    const answers = [
      await send({ ...base1, wrongSignature: true }),
      await send({ ...base1, headers: { 'X-Nextcloud-Talk-Signature': null } }),
      await send({ ...base1, headers: { 'X-Nextcloud-Talk-Random': null } }),
      await send({ ...base1, headers: { 'X-Nextcloud-Talk-Random': 'short-random' } }),
      await send({ ...base1, headers: { 'X-Nextcloud-Talk-Backend': 'https://evil.example/' } }),
      await send({ ...base1, oversizeBytes: 70 * 1024 }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 413]);
    expect((await fetch(hook('no-such-channel'), { method: 'POST', body: '{}' })).status).toBe(404);

    const rejected = await waitFor('six rejections', async () => {
      const list = (await channelEvents('talk-test', 'channel.webhook.rejected')).filter(
        (e) => e.time >= new Date(Date.now() - 60_000).toISOString(),
      );
      return list.length >= 6 ? list : undefined;
    });
    expect(rejected.map((e) => (e.data as { reason: string }).reason)).toEqual([
      'bad signature',
      'missing X-Nextcloud-Talk-Signature',
      'missing X-Nextcloud-Talk-Random',
      'X-Nextcloud-Talk-Random has an implausible length',
      'X-Nextcloud-Talk-Backend is not the configured Nextcloud',
      `body larger than ${64 * 1024} bytes`,
    ]);
    expect(await store.lastSeq()).toBe(before + 6);
    expect(await sessionEvents('talk-test', room('2'), user('alice'))).toEqual([]);
  });

  test('a flood of bad webhooks is audited at most N times a minute per channel', async () => {
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        send({ conversationToken: room('3'), actorId: user('alice'), text: 'x', wrongSignature: true }),
      ),
    );
    expect(results.every((r) => r.status === 401)).toBe(true);
    const audited = await waitFor('flood audit', async () => {
      const list = await channelEvents('talk-test', 'channel.webhook.rejected');
      return list.length >= AUDIT_PER_MINUTE ? list : undefined;
    });
    // 6 from the previous test + the rest of this minute's budget; the suppressed ones are counted later.
    expect(audited).toHaveLength(AUDIT_PER_MINUTE);
  });

  test('a replayed webhook is answered but processed once', async () => {
    const first = await send({ conversationToken: room('4'), actorId: user('alice'), text: 'only once' });
    const replay = await talk.resend(first);
    expect([first.status, replay.status]).toEqual([200, 200]);
    expect(JSON.parse(replay.body)).toEqual({ status: 'duplicate' });
    // The same message id under a fresh random (a re-signed copy) is also a duplicate.
    const again = await send({
      conversationToken: room('4'),
      actorId: user('alice'),
      text: 'only once',
      messageId: first.messageId,
    });
    expect(JSON.parse(again.body)).toEqual({ status: 'duplicate' });
    await received('talk-test', room('4'), user('alice'), first.messageId!);
    const sentinel = await send({ conversationToken: room('4'), actorId: user('alice'), text: 'after' });
    await received('talk-test', room('4'), user('alice'), sentinel.messageId!);
    const texts = (await sessionEvents('talk-test', room('4'), user('alice'))).map(
      (e) => (e.data as { text: string }).text,
    );
    expect(texts).toEqual(['only once', 'after']);
  });

  test('an unknown sender waits: one pending event, one "waiting" reply for three messages; admitted later, they reach the agent', async () => {
    const carol = user('carol');
    for (const text of ['hi', 'anyone?', 'hello?']) {
      expect(
        (await send({ conversationToken: room('5'), actorId: carol, actorName: 'Carol', text })).status,
      ).toBe(200);
    }
    const waiting = await talk.waitForReply((r) => r.token === room('5') && r.status === 201, 10_000);
    expect(waiting.message).toMatch(/waiting for an operator to admit you/);
    const pending = await events('sender', senderIdOf('talk-test', carol));
    expect(pending.map((e) => e.type)).toEqual(['channel.sender.pending']);
    expect(pending[0].data).toMatchObject({
      channel: 'talk-test',
      sender: carol,
      senderName: 'Carol',
      conversation: room('5'),
    });
    expect(await sessionEvents('talk-test', room('5'), carol)).toEqual([]);
    const listed = await waitFor('carol listed as pending', async () =>
      (
        await rpc.request<SenderView[]>(CHANNELS_SENDERS_LIST, { channel: 'talk-test', status: 'pending' })
      ).find((s) => s.sender === carol),
    );
    expect(listed).toEqual({ channel: 'talk-test', sender: carol, senderName: 'Carol', status: 'pending' });

    await expect(admit('talk-test', carol, 'read-only')).resolves.toMatchObject({
      status: 'admitted',
      level: 'read-only',
    });
    const after = await send({ conversationToken: room('5'), actorId: carol, text: 'now?' });
    const msg = await received('talk-test', room('5'), carol, after.messageId!);
    expect(msg).toMatchObject({ trust: 'untrusted', data: { level: 'read-only', text: 'now?' } });
    expect(talk.replies.filter((r) => r.token === room('5'))).toHaveLength(1);
    await waitFor('carol listed as admitted', async () =>
      (await rpc.request<SenderView[]>(CHANNELS_SENDERS_LIST, { status: 'admitted' })).some(
        (s) => s.sender === carol && s.level === 'read-only',
      ),
    );
  });

  test('a rejected sender gets nothing through; commands validate their input', async () => {
    const mallory = user('mallory');
    await rpc.request(CHANNELS_SENDERS_REJECT, {
      channel: 'talk-test',
      sender: mallory,
      actor: { type: 'apikey', id: 'key-1' },
    });
    const rejectedEvents = await events('sender', senderIdOf('talk-test', mallory));
    expect(rejectedEvents).toHaveLength(1);
    expect(rejectedEvents[0]).toMatchObject({
      type: 'channel.sender.rejected',
      actortype: 'apikey',
      actorid: 'key-1',
    });
    const m = await send({ conversationToken: room('6'), actorId: mallory, text: 'let me in' });
    expect(m.status).toBe(200);
    // Alice's later message in the same room proves the intake moved on.
    const s = await send({ conversationToken: room('6'), actorId: user('alice'), text: 'sentinel' });
    await received('talk-test', room('6'), user('alice'), s.messageId!);
    expect(await sessionEvents('talk-test', room('6'), mallory)).toEqual([]);
    expect(await events('sender', senderIdOf('talk-test', mallory))).toHaveLength(1);

    await expect(
      rpc.request(CHANNELS_SENDERS_ADMIT, {
        channel: 'talk-test',
        sender: 'x',
        level: 'root',
        actor: { type: 'user', id: 'o' },
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      rpc.request(CHANNELS_SENDERS_ADMIT, {
        channel: 'nope',
        sender: 'x',
        level: 'admin',
        actor: { type: 'user', id: 'o' },
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(rpc.request(CHANNELS_SENDERS_LIST, { extra: 1 })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  test('system messages, Join/Leave, reactions and bots never start a turn', async () => {
    const alice = user('alice');
    const first = await send({ conversationToken: room('7'), actorId: alice, text: 'liked soon' });
    await received('talk-test', room('7'), alice, first.messageId!);
    const before = await store.lastSeq();
    const answers = [
      await send({
        conversationToken: room('7'),
        type: 'Activity',
        actorId: alice,
        systemMessage: 'user_added',
      }),
      await talk.joinBot('palisade', room('7')),
      await talk.leaveBot('palisade', room('7')),
      await send({ conversationToken: room('7'), type: 'Like', messageId: first.messageId, reaction: '👍' }),
      await send({ conversationToken: room('7'), type: 'Undo', messageId: first.messageId, reaction: '👍' }),
      await send({ conversationToken: room('7'), actorId: 'bots/bot-0123abcd', text: 'I am a bot' }),
    ];
    expect(answers.map((a) => [a.status, JSON.parse(a.body).status])).toEqual(
      Array(6).fill([200, 'ignored']),
    );
    expect(await store.lastSeq()).toBe(before);
  });

  test('approve <id> from an admin calls cmd.approvals.decide as that sender; from anyone else it is ignored and audited', async () => {
    const calls: unknown[] = [];
    const responder = admin.subscribe('cmd.approvals.decide', {
      callback: (_err, msg) => {
        calls.push(msg.json());
        msg.respond(JSON.stringify({ ok: true, data: { approval: 'a1', status: 'approved' } }));
      },
    });
    await admin.flush();
    try {
      await send({ conversationToken: room('8'), actorId: user('bob'), text: 'approve 0190abcd-0001' });
      await waitFor('decide call', () => (calls.length ? true : undefined));
      expect(calls).toEqual([
        {
          approval: '0190abcd-0001',
          decision: 'approve',
          decider: { type: 'sender', id: user('bob'), channel: 'talk-test' },
        },
      ]);
      // Not a chat message either.
      expect(await sessionEvents('talk-test', room('8'), user('bob'))).toEqual([]);

      await send({ conversationToken: room('8'), actorId: user('alice'), text: 'deny 0190abcd-0002' });
      const ignored = await waitFor('approval ignored', async () =>
        (await channelEvents('talk-test', 'channel.approval.ignored')).find(
          (e) => (e.data as { approval: string }).approval === '0190abcd-0002',
        ),
      );
      expect(ignored).toMatchObject({
        actorid: user('alice'),
        data: {
          sender: user('alice'),
          conversation: room('8'),
          reason: 'sender is not admin in this channel',
        },
      });
      expect(calls).toHaveLength(1);
      expect(await sessionEvents('talk-test', room('8'), user('alice'))).toEqual([]);
    } finally {
      responder.unsubscribe();
    }
  });

  test('chat.message.sent is delivered signed to the right room, replyTo when it is a Talk id, long text split', async () => {
    const question = await send({ conversationToken: room('9'), actorId: user('alice'), text: 'question' });
    await received('talk-test', room('9'), user('alice'), question.messageId!);
    await sent('talk-test', room('9'), 'the answer', question.messageId);
    const reply = await talk.waitForReply((r) => r.message === 'the answer', 10_000);
    expect(reply).toMatchObject({
      status: 201,
      verified: true,
      token: room('9'),
      replyTo: Number(question.messageId),
    });
    expect(reply.random!.length).toBeGreaterThanOrEqual(32);
    expect(reply.headers['ocs-apirequest']).toBe('true');

    const long = `${'a'.repeat(31_000)}\n${'b'.repeat(9_000)}`;
    await sent('talk-test', room('9'), long);
    const parts = await waitFor('both parts', () => {
      const got = talk.replies.filter(
        (r) => r.token === room('9') && r.status === 201 && /^[ab]/.test(r.message ?? ''),
      );
      return got.length >= 2 ? got : undefined;
    });
    expect(parts.map((p) => p.message).join('')).toBe(long);
    expect(parts.every((p) => [...(p.message ?? '')].length <= 32_000)).toBe(true);
    expect(talk.replies.filter((r) => r.status === 413)).toEqual([]);
  });

  test('429 with Retry-After pauses and the reply still arrives once', async () => {
    talk.scriptReply({ status: 429, retryAfter: 1, token: room('3') });
    await sent('talk-test', room('3'), 'after a pause');
    const ok = await talk.waitForReply((r) => r.message === 'after a pause' && r.status === 201, 15_000);
    expect(ok.verified).toBe(true);
    expect(talk.replies.filter((r) => r.message === 'after a pause').map((r) => r.status)).toEqual([
      429, 201,
    ]);
  });

  test('a wrong secret: the first 401 opens the circuit (no hammering), channel.reply.failed, health shows it', async () => {
    for (const text of ['one', 'two', 'three']) await sent(BAD, room('1'), `bad-secret ${text}`);
    const failed = await waitFor(
      'channel.reply.failed',
      async () => (await channelEvents(BAD, 'channel.reply.failed'))[0],
    );
    expect((failed.data as { reason: string }).reason).toMatch(/401/);
    const report = await waitFor('degraded health', async () => {
      const h = await health();
      return h.checks[`channel:${BAD}`]?.ok === false ? h : undefined;
    });
    expect(report.status).toBe('degraded');
    expect(report.checks[`channel:${BAD}`].detail).toMatch(/circuit open/);
    expect(report.checks['channel:talk-test'].ok).toBe(true);
    // A message sent after the circuit opened is not attempted either.
    await sent(BAD, room('1'), 'bad-secret four');
    await sent('talk-test', room('1'), 'good channel still works');
    await talk.waitForReply((r) => r.message === 'good channel still works' && r.status === 201, 10_000);
    expect(talk.replies.filter((r) => r.message?.startsWith('bad-secret')).map((r) => r.status)).toEqual([
      401,
    ]);
    expect(talk.bruteForceAttempts()).toBe(1);
    expect(channels.output()).not.toContain(WRONG_SECRET);
    expect(channels.output()).not.toContain(SECRET);
  });
});
