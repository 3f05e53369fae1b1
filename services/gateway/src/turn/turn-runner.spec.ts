// The turn runner's delivery logic with an in-memory event log that keeps EventStore's
// expected-version semantics (the real log is exercised by the e2e suite): claims, redelivery,
// take-over of a turn whose gateway died, closing a turn that already replied, cron retries, and the
// notice the conversation gets when the model does not answer.
import {
  createEvent,
  LLM_COMPLETE,
  type LlmCompleteReply,
  type PalisadeEvent,
  RpcError,
  sessionIdOf,
  uuidv7,
} from '@palisade/contracts';
import { ConcurrencyError, type EventStore, type ExpectedVersion, type StoredEvent } from '@palisade/event-log';
import type { NatsRpcClient } from '@palisade/nats';
import { AgentStateReader } from './agent-state';
import { ApprovalWaiter } from './approval-waiter';
import { SessionReader } from './session-reader';
import {
  failureNotice,
  GENERIC_FAILURE_NOTICE,
  MODEL_UNAVAILABLE_NOTICE,
  ModelUnavailableError,
  TurnRunner,
} from './turn-runner';

/** EventStore's contract in memory: one global sequence, expected version = the aggregate's last seq. */
class MemoryStore {
  readonly log: StoredEvent[] = [];
  /** Called before each append (a test can make a concurrent writer win). */
  beforeAppend?: (event: PalisadeEvent) => void;

  async append(event: PalisadeEvent, expected: ExpectedVersion = 'any') {
    this.beforeAppend?.(event);
    const last = [...this.log].reverse().find((s) => s.event.subject === event.subject)?.seq ?? 0;
    if ((expected === 'none' && last !== 0) || (typeof expected === 'number' && expected !== last))
      throw new ConcurrencyError(event.subject, typeof expected === 'number' ? expected : 0);
    const stored = { seq: this.log.length + 1, subject: `evt.x.${event.subject}`, event } as StoredEvent;
    this.log.push(stored);
    return { seq: stored.seq, duplicate: false, subject: stored.subject };
  }

  async nextOnSubject(subject: string, seq: number) {
    const id = subject.split('.').pop();
    return this.log.find((s) => s.seq >= seq && s.event.subject === id);
  }

  async readAggregate(_type: string, id: string) {
    return this.log.filter((s) => s.event.subject === id);
  }

  types(session: string): string[] {
    return this.log.filter((s) => s.event.subject === session).map((s) => s.event.type);
  }

  sent(session: string): string[] {
    return this.log
      .filter((s) => s.event.subject === session && s.event.type === 'chat.message.sent')
      .map((s) => (s.event.data as { text: string }).text);
  }
}

const SESSION = sessionIdOf('talk-main', 'room1', 'users/alice');

function message(text: string): PalisadeEvent {
  return createEvent({
    type: 'chat.message.received',
    source: 'channels',
    aggregateId: SESSION,
    data: { channel: 'talk-main', conversation: 'room1', sender: 'users/alice', messageId: uuidv7(), text, level: 'execute' },
    actor: { type: 'sender', id: 'users/alice' },
    trust: 'untrusted',
  });
}

function gatewayEvent(type: string, data: unknown): PalisadeEvent {
  return createEvent({
    type,
    source: 'gateway',
    aggregateId: SESSION,
    data: data as never,
    actor: { type: 'service', id: 'gateway' },
    trust: 'untrusted',
  }) as PalisadeEvent;
}

describe('TurnRunner delivery logic (in-memory log)', () => {
  let store: MemoryStore;
  let llm: jest.Mock<Promise<LlmCompleteReply>, [unknown]>;
  let logs: string[];
  let runner: TurnRunner;

  beforeEach(() => {
    store = new MemoryStore();
    logs = [];
    llm = jest.fn(async (_request: unknown) => ({ message: { role: 'assistant', content: 'pong' }, model: 'm', route: 'local', durationMs: 1, reason: 'stop' }) as unknown as LlmCompleteReply);
    const rpc = {
      request: async (subject: string, payload: unknown) => {
        if (subject !== LLM_COMPLETE) throw new Error(`unexpected rpc ${subject}`);
        return llm(payload);
      },
    } as unknown as NatsRpcClient;
    const es = store as unknown as EventStore;
    runner = new TurnRunner(es, rpc, new SessionReader(es), new AgentStateReader(es, { name: 'P', instructions: '' }), new ApprovalWaiter(es), {
      maxToolSteps: 2,
      defaultCwd: '/workspace',
      llmTimeoutMs: 1_000,
      sandboxTimeoutMs: 1_000,
      log: (m) => logs.push(m),
    });
  });

  test('a message gets exactly one turn; its redelivery after the turn completed does nothing', async () => {
    await store.append(message('ping'));
    expect(await runner.onMessage(SESSION)).toMatchObject({ status: 'completed', reply: 'pong' });
    expect(await runner.onMessage(SESSION, { redelivered: true })).toMatchObject({ status: 'skipped' });
    expect(store.types(SESSION)).toEqual(['chat.message.received', 'agent.turn.started', 'chat.message.sent', 'agent.turn.completed']);
    expect(llm).toHaveBeenCalledTimes(1);
  });

  test('two deliveries racing for one message: the claim lets one turn run', async () => {
    await store.append(message('ping'));
    const [a, b] = await Promise.all([runner.onMessage(SESSION), runner.onMessage(SESSION)]);
    expect([a.status, b.status].sort()).toEqual(['completed', 'skipped']);
    expect(store.sent(SESSION)).toEqual(['pong']);
  });

  test('a claim lost to a concurrent writer is skipped, not run twice', async () => {
    await store.append(message('ping'));
    let raced = false;
    store.beforeAppend = (event) => {
      if (event.type === 'agent.turn.started' && !raced) {
        raced = true;
        // Another replica's claim lands first.
        void store.append(gatewayEvent('agent.turn.started', { turn: uuidv7(), trigger: 'message' }));
      }
    };
    expect(await runner.onMessage(SESSION)).toMatchObject({ status: 'skipped', reason: 'claimed elsewhere' });
    expect(llm).not.toHaveBeenCalled();
  });

  test('redelivered while its turn is open (the gateway that claimed it died): the turn is taken over and answered once', async () => {
    await store.append(message('ping'));
    const dead = uuidv7();
    await store.append(gatewayEvent('agent.turn.started', { turn: dead, trigger: 'message' }));
    // First delivery (not redelivered): someone is working on it — leave it alone.
    expect(await runner.onMessage(SESSION)).toMatchObject({ status: 'skipped', reason: 'turn in progress' });
    const outcome = await runner.onMessage(SESSION, { redelivered: true });
    expect(outcome).toMatchObject({ status: 'completed', reply: 'pong' });
    expect(store.sent(SESSION)).toEqual(['pong']);
    const failed = store.log.find((s) => s.event.type === 'agent.turn.failed')!.event.data as { turn: string; reason: string };
    expect(failed).toMatchObject({ turn: dead, reason: expect.stringContaining('abandoned') });
    // And once more: nothing left to do.
    expect(await runner.onMessage(SESSION, { redelivered: true })).toMatchObject({ status: 'skipped' });
    expect(llm).toHaveBeenCalledTimes(1);
  });

  test('a turn that had already sent its reply before its gateway died is closed, not answered again', async () => {
    await store.append(message('ping'));
    const dead = uuidv7();
    await store.append(gatewayEvent('agent.turn.started', { turn: dead, trigger: 'message' }));
    await store.append(gatewayEvent('chat.message.sent', { channel: 'talk-main', conversation: 'room1', text: 'pong' }));
    expect(await runner.onMessage(SESSION, { redelivered: true })).toMatchObject({ status: 'completed', turn: dead });
    expect(store.sent(SESSION)).toEqual(['pong']);
    expect(store.types(SESSION).slice(-1)).toEqual(['agent.turn.completed']);
    expect(llm).not.toHaveBeenCalled();
  });

  test('an approval notice inside an open tool call is not mistaken for the final reply', async () => {
    await store.append(message('run it'));
    const dead = uuidv7();
    await store.append(gatewayEvent('agent.turn.started', { turn: dead, trigger: 'message' }));
    await store.append(gatewayEvent('agent.tool.called', { turn: dead, call: 'c1', tool: 'exec', arguments: '{"command":"ls"}' }));
    await store.append(gatewayEvent('chat.message.sent', { channel: 'talk-main', conversation: 'room1', text: 'Approval needed' }));
    expect(await runner.onMessage(SESSION, { redelivered: true })).toMatchObject({ status: 'completed', reply: 'pong' });
    expect(store.sent(SESSION)).toEqual(['Approval needed', 'pong']);
  });

  test('the model not answering in time ends the turn with a notice and agent.turn.failed', async () => {
    await store.append(message('ping'));
    llm.mockRejectedValueOnce(new RpcError('timeout', 'no reply on cmd.llm.complete in time'));
    const outcome = await runner.onMessage(SESSION);
    expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringContaining('model unavailable: timeout') });
    expect(store.sent(SESSION)).toEqual([MODEL_UNAVAILABLE_NOTICE]);
    expect(store.types(SESSION).slice(-1)).toEqual(['agent.turn.failed']);
    // The failure is recorded: a redelivery does not run it again.
    expect(await runner.onMessage(SESSION, { redelivered: true })).toMatchObject({ status: 'skipped' });
  });

  test('a failure before the claim rejects (the delivery is nak-ed and retried), nothing is recorded', async () => {
    await store.append(message('ping'));
    store.beforeAppend = () => {
      throw new Error('NATS unreachable');
    };
    await expect(runner.onMessage(SESSION)).rejects.toThrow('NATS unreachable');
    store.beforeAppend = undefined;
    expect(await runner.onMessage(SESSION, { redelivered: true })).toMatchObject({ status: 'completed' });
    expect(store.sent(SESSION)).toEqual(['pong']);
  });

  describe('cron', () => {
    const job = uuidv7();
    let fired: PalisadeEvent;
    beforeEach(async () => {
      await store.append(
        createEvent({
          type: 'cron.job.created',
          source: 'cron',
          aggregateId: job,
          data: { job, name: 'j', kind: 'cron', expr: '*/5 * * * *', session: SESSION, system: false, prompt: 'ping' },
          actor: { type: 'user', id: 'op' },
          trust: 'trusted',
        }) as PalisadeEvent,
      );
      fired = createEvent({
        type: 'cron.job.fired',
        source: 'cron',
        aggregateId: job,
        data: { job, session: SESSION, scheduledAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        actor: { type: 'system', id: 'cron' },
        trust: 'trusted',
      }) as PalisadeEvent;
    });

    test('a redelivered firing neither appends a second prompt nor runs a second turn', async () => {
      expect(await runner.onCronFired(fired)).toMatchObject({ status: 'completed' });
      expect(await runner.onCronFired(fired, { redelivered: true })).toMatchObject({ status: 'skipped' });
      expect(store.types(SESSION).filter((t) => t === 'chat.message.received')).toHaveLength(1);
      expect(store.types(SESSION).filter((t) => t === 'agent.turn.started')).toHaveLength(1);
    });

    test('prompt appended but the gateway died before claiming: the redelivery runs the turn', async () => {
      let crashed = false;
      store.beforeAppend = (event) => {
        if (event.type === 'agent.turn.started' && !crashed) {
          crashed = true;
          throw new Error('killed');
        }
      };
      await expect(runner.onCronFired(fired)).rejects.toThrow('killed');
      store.beforeAppend = undefined;
      expect(await runner.onCronFired(fired, { redelivered: true })).toMatchObject({ status: 'completed', reply: 'pong' });
      expect(store.types(SESSION).filter((t) => t === 'chat.message.received')).toHaveLength(1);
      expect(store.sent(SESSION)).toEqual(['pong']);
    });
  });
});

describe('failureNotice', () => {
  test('the model not answering (timeout, no responder, error reply) is named as such', () => {
    for (const cause of [new RpcError('timeout', 't'), new RpcError('unavailable', 'u'), new Error('x')])
      expect(failureNotice(new ModelUnavailableError(cause))).toBe(MODEL_UNAVAILABLE_NOTICE);
  });
  test('a frozen agent says nothing here; other failures get the generic notice without internals', () => {
    expect(failureNotice(new RpcError('frozen', 'f'))).toBeUndefined();
    expect(failureNotice(new ModelUnavailableError(new RpcError('frozen', 'f')))).toBeUndefined();
    expect(failureNotice(new RpcError('unavailable', 'no service answers cmd.sandbox.run'))).toBe(GENERIC_FAILURE_NOTICE);
  });
});
