// EventStore against the real EVENTS stream. Only valid events made by createEvent are ever appended
// here (the stream is append-only and shared with a ledger that halts on an invalid event).
import type { NatsConnection } from '@nats-io/transport-node';
import { createEvent, EventValidationError, PalisadeEvent, uuidv7 } from '@palisade/contracts';
import { connectAs } from '@palisade/testing';
import { Decider, handleCommand } from './decider';
import { ConcurrencyError, EventLogError, EventLogErrorCode } from './event-log.errors';
import { EventStore } from './event-store';

const chat = (session: string, text: string) =>
  createEvent({
    type: 'chat.message.received',
    source: 'channels',
    aggregateId: session,
    data: { channel: 'talk-test', conversation: 'event-log', sender: 'alice', messageId: uuidv7(), text, level: 'execute' },
    actor: { type: 'sender', id: 'alice' },
    trust: 'untrusted',
  });

const jobCreated = (job: string) =>
  createEvent({
    type: 'cron.job.created',
    source: 'cron',
    aggregateId: job,
    data: { job, kind: 'every', expr: '15m', session: uuidv7(), system: false },
    actor: { type: 'user', id: 'event-log-test' },
    trust: 'trusted',
  });

describe('EventStore (real EVENTS stream)', () => {
  let channels: NatsConnection;
  let cron: NatsConnection;
  let store: EventStore;

  beforeAll(async () => {
    channels = await connectAs('channels');
    cron = await connectAs('cron');
    store = new EventStore(channels);
  });

  afterAll(async () => {
    await channels?.close();
    await cron?.close();
  });

  test('append returns the stream sequence and the subject evt.<aggregate>.<id>', async () => {
    const session = uuidv7();
    const result = await store.append(chat(session, 'hello'));
    expect(result.seq).toBeGreaterThan(0);
    expect(result.duplicate).toBe(false);
    expect(result.subject).toBe(`evt.session.${session}`);
    const stored = await store.getBySeq(result.seq);
    expect(stored?.subject).toBe(`evt.session.${session}`);
    expect(stored?.event.subject).toBe(session);
  });

  test('a cron principal appends cronjob events', async () => {
    const job = uuidv7();
    const result = await new EventStore(cron).append(jobCreated(job), 'none');
    expect(result.subject).toBe(`evt.cronjob.${job}`);
    expect((await store.readAggregate('cronjob', job)).map((e) => e.seq)).toEqual([result.seq]);
  });

  test('a principal cannot append to an aggregate it does not own (typed rejected error)', async () => {
    const error = await new EventStore(cron, { retries: 0 }).append(chat(uuidv7(), 'not yours')).catch((e) => e);
    expect(error).toBeInstanceOf(EventLogError);
    expect(error.code).toBe(EventLogErrorCode.Rejected);
  });

  test('the same event appended twice is stored once (duplicate: true, same seq)', async () => {
    const session = uuidv7();
    const event = chat(session, 'once');
    const first = await store.append(event);
    const second = await store.append(event);
    expect(second).toEqual({ seq: first.seq, duplicate: true, subject: first.subject });
    expect((await store.readAggregate('session', session)).map((e) => e.seq)).toEqual([first.seq]);
  });

  test("expected version 'none': works on a fresh aggregate, a second 'none' throws ConcurrencyError", async () => {
    const session = uuidv7();
    const first = await store.append(chat(session, 'first'), 'none');
    const error = await store.append(chat(session, 'second'), 'none').catch((e) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toBeInstanceOf(EventLogError);
    expect(error.code).toBe(EventLogErrorCode.Conflict);
    expect(error.code).toBe('conflict');
    expect((await store.readAggregate('session', session)).map((e) => e.seq)).toEqual([first.seq]);
  });

  test('expected = last seq works; a stale number throws ConcurrencyError and writes nothing', async () => {
    const session = uuidv7();
    const first = await store.append(chat(session, '1'), 'none');
    const second = await store.append(chat(session, '2'), first.seq);
    expect(second.seq).toBeGreaterThan(first.seq);
    const error = await store.append(chat(session, 'stale'), first.seq).catch((e) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error.code).toBe(EventLogErrorCode.Conflict);
    expect(error.details).toEqual({ subject: `evt.session.${session}`, expected: first.seq });
    const third = await store.append(chat(session, '3'), second.seq);
    expect((await store.readAggregate('session', session)).map((e) => e.seq)).toEqual([first.seq, second.seq, third.seq]);
  });

  test('an invalid event throws EventValidationError and nothing is written', async () => {
    const session = uuidv7();
    const valid = chat(session, 'valid');
    const badPayload = { ...valid, data: { ...valid.data, level: 'root' } } as PalisadeEvent;
    const missingField = { ...valid, id: uuidv7(), data: { ...valid.data, sender: undefined } } as unknown as PalisadeEvent;
    const unknownField = { ...valid, id: uuidv7(), data: { ...valid.data, extra: 1 } } as PalisadeEvent;
    const badEnvelope = { ...valid, id: uuidv7(), specversion: '0.3' } as unknown as PalisadeEvent;
    for (const bad of [badPayload, missingField, unknownField, badEnvelope]) {
      await expect(store.append(bad)).rejects.toBeInstanceOf(EventValidationError);
      await expect(store.append(bad, 'none')).rejects.toBeInstanceOf(EventValidationError);
    }
    expect(await store.readAggregate('session', session)).toEqual([]);
    // The aggregate is still fresh: 'none' is accepted.
    const ok = await store.append(valid, 'none');
    expect((await store.readAggregate('session', session)).map((e) => e.seq)).toEqual([ok.seq]);
  });

  test("readAggregate returns that aggregate's events in order and none of another aggregate", async () => {
    const a = uuidv7();
    const b = uuidv7();
    const appended: { a: number[]; b: number[] } = { a: [], b: [] };
    for (let i = 0; i < 4; i++) {
      appended.a.push((await store.append(chat(a, `a${i}`))).seq);
      appended.b.push((await store.append(chat(b, `b${i}`))).seq);
    }
    const readA = await store.readAggregate('session', a);
    expect(readA.map((e) => e.seq)).toEqual(appended.a);
    expect(readA.map((e) => (e.event.data as { text: string }).text)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(readA.every((e) => e.subject === `evt.session.${a}` && e.event.subject === a)).toBe(true);
    expect(JSON.parse(readA[0].raw)).toEqual(readA[0].event);
    expect((await store.readAggregate('session', b)).map((e) => e.seq)).toEqual(appended.b);
    expect(await store.readAggregate('session', uuidv7())).toEqual([]);
    // Another aggregate type with the same id is another subject.
    expect(await store.readAggregate('cronjob', a)).toEqual([]);
  });

  describe('handleCommand', () => {
    // A tiny session decider: numbers messages; refuses more than `limit`.
    type State = { count: number; texts: string[] };
    type Command = { say: string; limit: number };
    const decisions: number[] = [];
    const decider = (session: string): Decider<State, Command> => ({
      initialState: () => ({ count: 0, texts: [] }),
      evolve: (s, e) => ({ count: s.count + 1, texts: [...s.texts, (e.data as { text: string }).text] }),
      decide: (command, s) => {
        decisions.push(s.count);
        if (s.count >= command.limit) throw new Error('session is full');
        return [chat(session, `#${s.count + 1} ${command.say}`)];
      },
    });

    /** A store whose first readAggregate lets a concurrent writer append right after the read. */
    function racingStore(concurrent: () => Promise<unknown>): EventStore {
      let raced = false;
      const racing = Object.create(store) as EventStore;
      racing.readAggregate = async (type, id) => {
        const events = await store.readAggregate(type, id);
        if (!raced) {
          raced = true;
          await concurrent();
        }
        return events;
      };
      return racing;
    }

    beforeEach(() => decisions.splice(0));

    test('given-when-then: appends what the decider decided, expecting the loaded version', async () => {
      const session = uuidv7();
      const first = await handleCommand(store, decider(session), 'session', session, { say: 'hi', limit: 5 });
      expect(first.state).toEqual({ count: 1, texts: ['#1 hi'] });
      const second = await handleCommand(store, decider(session), 'session', session, { say: 'again', limit: 5 });
      expect(second.state.texts).toEqual(['#1 hi', '#2 again']);
      expect(second.appended.map((e) => (e.data as { text: string }).text)).toEqual(['#2 again']);
      expect((await store.readAggregate('session', session)).map((e) => (e.event.data as { text: string }).text)).toEqual([
        '#1 hi',
        '#2 again',
      ]);
    });

    test('re-decides on a conflict caused by a concurrent writer (fresh aggregate: expected none)', async () => {
      const session = uuidv7();
      const other = new EventStore(channels);
      const racing = racingStore(() => other.append(chat(session, 'concurrent')));
      const result = await handleCommand(racing, decider(session), 'session', session, { say: 'mine', limit: 5 });
      expect(decisions).toEqual([0, 1]); // decided on the empty aggregate, conflicted, re-decided on the new state
      expect(result.state.texts).toEqual(['concurrent', '#2 mine']);
      expect((await store.readAggregate('session', session)).map((e) => (e.event.data as { text: string }).text)).toEqual([
        'concurrent',
        '#2 mine',
      ]);
    });

    test('re-decides on a conflict at a numeric version, and the new decision may refuse', async () => {
      const session = uuidv7();
      await store.append(chat(session, 'existing'), 'none');
      const other = new EventStore(channels);
      const racing = racingStore(() => other.append(chat(session, 'concurrent')));
      await expect(handleCommand(racing, decider(session), 'session', session, { say: 'mine', limit: 2 })).rejects.toThrow('session is full');
      expect(decisions).toEqual([1, 2]);
      expect((await store.readAggregate('session', session)).map((e) => (e.event.data as { text: string }).text)).toEqual([
        'existing',
        'concurrent',
      ]);
    });

    test('gives up with ConcurrencyError after `attempts` conflicts', async () => {
      const session = uuidv7();
      const other = new EventStore(channels);
      const racing = Object.create(store) as EventStore;
      racing.readAggregate = async (type, id) => {
        const events = await store.readAggregate(type, id);
        await other.append(chat(session, 'always first'));
        return events;
      };
      const error = await handleCommand(racing, decider(session), 'session', session, { say: 'never', limit: 99 }, 2).catch((e) => e);
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect(decisions).toHaveLength(2);
    });
  });
});
