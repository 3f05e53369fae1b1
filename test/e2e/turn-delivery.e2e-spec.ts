// Talk turns are never lost, never doubled, never silent — every service its own process on the real
// NATS/JetStream, PostgreSQL and Docker; only Nextcloud Talk and Ollama are stand-ins.
//  - The gateway is SIGKILLed in the middle of a turn (claimed, waiting for the model): the message,
//    never acknowledged, comes back to the restarted gateway, which takes the turn over; the user gets
//    exactly one answer.
//  - llm-router does not answer in time (stopped with SIGSTOP): the user gets a "model unavailable"
//    notice and the turn is recorded as failed — not silence.
//  - Palisade services already connected to NATS (a stale run): a new stack refuses to start and names
//    their pids.
import { type ChatMessageSentData, type PalisadeEvent, uuidv7 } from '@palisade/contracts';
import { PalisadeStack, waitFor, type OllamaChatRequest } from '@palisade/testing';

describe('turn delivery: no turn lost, none answered twice, none silent', () => {
  const stack = new PalisadeStack({
    cloud: false,
    env: { gateway: { PALISADE_GATEWAY_LLM_TIMEOUT_MS: '4000' } },
  });
  let startSeq = 0;
  /** The model: echoes, except that a test can hold a call open. */
  let hold: ((request: OllamaChatRequest) => Promise<{ content: string }> | undefined) | undefined;
  const modelCalls: string[] = [];

  beforeAll(async () => {
    await stack.start();
    startSeq = await stack.store.lastSeq();
    stack.ollama!.setHandler((request: OllamaChatRequest) => {
      const last = request.messages[request.messages.length - 1];
      modelCalls.push(last.content);
      return hold?.(request) ?? { content: `You said: ${last.content}` };
    });
    await stack.admit('users/alice', 'execute');
  }, 180_000);

  afterAll(async () => {
    await stack.stop();
  });

  /** A fresh Talk room with the bot enabled in it. */
  const room = () => {
    const token = `room-${uuidv7().slice(-12)}`;
    stack.talk!.addConversation({ token });
    stack.talk!.enableBot('palisade', token);
    return token;
  };
  const say = (conversationToken: string, text: string) =>
    stack.talk!.sendMessage({ conversationToken, actorId: 'users/alice', text, bot: 'palisade' });
  const repliesIn = (token: string) => stack.talk!.botMessages(token).map((m) => m.message);
  const sessionEvents = async (conversation: string) => {
    const received = await stack.eventsSince(
      startSeq,
      (e) => e.type === 'chat.message.received' && (e.data as { conversation: string }).conversation === conversation,
    );
    const session = received[0]?.event.subject;
    return session ? (await stack.eventsSince(startSeq, (e) => e.subject === session)).map((s) => s.event) : [];
  };

  test('the gateway is SIGKILLed mid-turn: the turn is redelivered to the restarted gateway and answered exactly once', async () => {
    const token = room();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = 0;
    hold = (request) => {
      const last = request.messages[request.messages.length - 1];
      if (last.content !== 'ping before the crash' || held++ > 0) return undefined;
      return gate.then(() => ({ content: 'an answer nobody is waiting for any more' }));
    };
    await say(token, 'ping before the crash');
    // Mid-turn: claimed (agent.turn.started) and the model is being asked.
    await waitFor('the turn to reach the model', () => held === 1 || undefined, 60_000, 100);
    const before = await sessionEvents(token);
    expect(before.map((e) => e.type)).toEqual(['chat.message.received', 'agent.turn.started']);
    const oldGateway = stack.proc('gateway').child.pid;

    await stack.restart('gateway', 'SIGKILL');
    expect(stack.proc('gateway').child.pid).not.toBe(oldGateway);
    release();

    // Redelivered after the durable's ack wait (30 s) to the new gateway, which takes the turn over.
    await waitFor('the answer', () => repliesIn(token).find((m) => m === 'You said: ping before the crash'), 90_000, 200);
    await new Promise((r) => setTimeout(r, 3_000)); // nothing more arrives
    expect(repliesIn(token)).toEqual(['You said: ping before the crash']);
    const events = await sessionEvents(token);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'chat.message.sent')).toHaveLength(1);
    expect(types.filter((t) => t === 'agent.turn.completed')).toHaveLength(1);
    const abandoned = before[1].data as { turn: string };
    const failed = events.filter((e) => e.type === 'agent.turn.failed').map((e) => e.data as { turn: string; reason: string });
    expect(failed).toEqual([{ turn: abandoned.turn, reason: expect.stringContaining('abandoned') }]);
    // The model was asked twice for it (the dead turn, then the take-over); the user heard once.
    expect(modelCalls.filter((c) => c === 'ping before the crash')).toHaveLength(2);
    // Every event of the turn keeps the message's correlation id.
    expect(new Set(events.map((e) => e.correlationid)).size).toBe(1);
    hold = undefined;

    // The restarted gateway serves the next message normally, once.
    await say(token, 'ping after the crash');
    await waitFor('the next answer', () => repliesIn(token).find((m) => m === 'You said: ping after the crash'), 60_000, 100);
    expect(repliesIn(token)).toEqual(['You said: ping before the crash', 'You said: ping after the crash']);
  }, 180_000);

  test('llm-router does not answer in time: the user gets a "model unavailable" notice and agent.turn.failed', async () => {
    const token = room();
    const router = stack.proc('llm-router');
    await router.signal('SIGSTOP');
    try {
      await say(token, 'hello, is anyone there');
      const notice = await waitFor('the notice', () => repliesIn(token).find((m) => /model is unavailable/.test(m)), 60_000, 100);
      expect(notice).toMatch(/did not answer in time/);
      const events = await waitFor(
        'agent.turn.failed',
        async () => {
          const all = await sessionEvents(token);
          return all.some((e) => e.type === 'agent.turn.failed') ? all : undefined;
        },
        15_000,
        200,
      );
      const failed = events.find((e) => e.type === 'agent.turn.failed') as PalisadeEvent<{ reason: string }>;
      expect(failed.data.reason).toMatch(/^model unavailable: timeout/);
      const sent = events.filter((e) => e.type === 'chat.message.sent').map((e) => (e.data as ChatMessageSentData).text);
      expect(sent).toEqual([notice]);
      // Internals stay out of what the user reads.
      expect(notice).not.toMatch(/cmd\.llm|timeout:|nats/i);
    } finally {
      await router.signal('SIGCONT');
    }
    // Back to normal once llm-router answers again; the failed turn is not re-run.
    await waitFor(
      'llm-router healthy',
      async () => ((await stack.admin.request('health.llm-router', '', { timeout: 2_000 }).catch(() => undefined)) ? true : undefined),
      30_000,
      200,
    );
    await say(token, 'and now');
    await waitFor('an answer', () => repliesIn(token).find((m) => m === 'You said: and now'), 60_000, 100);
    expect(repliesIn(token).filter((m) => /model is unavailable/.test(m))).toHaveLength(1);
  }, 150_000);

  test('Palisade services already connected to NATS: another stack refuses to start and names their pids', async () => {
    const second = new PalisadeStack({ cloud: false });
    try {
      const error = await second.start().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(Error);
      for (const service of ['gateway', 'channels', 'llm-router', 'cron']) {
        const pid = stack.proc(service).child.pid;
        expect(error!.message).toContain(`palisade-${service} (pid ${pid})`);
      }
      expect(error!.message).toMatch(/share the durable consumers/);
      // It refused before starting anything: no second set of services joined NATS.
      expect(second.procs).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});
