// Given-when-then unit tests of fold/decide with a small, pure example decider (no server).
import { createEvent, PalisadeEvent, uuidv7 } from '@palisade/contracts';
import { Decider, fold } from './decider';

// Example: a cron job aggregate. It can be created once, updated while it exists, and removed once.
type JobState = { status: 'absent' } | { status: 'active'; expr: string; updates: number } | { status: 'removed' };
type JobCommand = { kind: 'create'; expr: string } | { kind: 'update'; expr: string } | { kind: 'remove'; reason: string };

const JOB = uuidv7();
const SESSION = uuidv7();
const T0 = new Date('2030-01-01T00:00:00.000Z');

const definition = (expr: string) => ({ job: JOB, kind: 'every' as const, expr, session: SESSION, system: false });
const created = (expr: string) =>
  createEvent({ type: 'cron.job.created', source: 'cron', aggregateId: JOB, data: definition(expr), actor: { type: 'user', id: 'u1' }, trust: 'trusted', time: T0 });
const updated = (expr: string) =>
  createEvent({ type: 'cron.job.updated', source: 'cron', aggregateId: JOB, data: definition(expr), actor: { type: 'user', id: 'u1' }, trust: 'trusted', time: T0 });
const removed = (reason: string) =>
  createEvent({ type: 'cron.job.removed', source: 'cron', aggregateId: JOB, data: { job: JOB, reason }, actor: { type: 'user', id: 'u1' }, trust: 'trusted', time: T0 });

class JobError extends Error {}

const jobDecider: Decider<JobState, JobCommand> = {
  initialState: () => ({ status: 'absent' }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'cron.job.created':
        return { status: 'active', expr: (event.data as { expr: string }).expr, updates: 0 };
      case 'cron.job.updated':
        return state.status === 'active' ? { ...state, expr: (event.data as { expr: string }).expr, updates: state.updates + 1 } : state;
      case 'cron.job.removed':
        return { status: 'removed' };
      default:
        return state; // events of other types do not change this aggregate
    }
  },
  decide: (command, state) => {
    switch (command.kind) {
      case 'create':
        if (state.status !== 'absent') throw new JobError('job already exists');
        return [created(command.expr)];
      case 'update':
        if (state.status !== 'active') throw new JobError('job is not active');
        if (state.expr === command.expr) return []; // idempotent: nothing to record
        return [updated(command.expr)];
      case 'remove':
        if (state.status === 'removed') return [];
        if (state.status === 'absent') throw new JobError('no such job');
        return [removed(command.reason)];
    }
  },
};

/** given(history).when(command) → then the new events (or the error). */
function given(history: PalisadeEvent[]) {
  return {
    when: (command: JobCommand) => {
      const state = fold(jobDecider, history);
      return { state, events: () => jobDecider.decide(command, state) };
    },
  };
}

const shape = (events: PalisadeEvent[]) => events.map((e) => ({ type: e.type, data: e.data }));

describe('fold', () => {
  test('no events → the initial state (a fresh object each time)', () => {
    const a = fold(jobDecider, []);
    const b = fold(jobDecider, []);
    expect(a).toEqual({ status: 'absent' });
    expect(a).not.toBe(b);
  });

  test('applies events in order', () => {
    expect(fold(jobDecider, [created('5m'), updated('10m'), updated('15m')])).toEqual({ status: 'active', expr: '15m', updates: 2 });
    expect(fold(jobDecider, [created('5m'), updated('10m'), removed('done')])).toEqual({ status: 'removed' });
  });

  test('is pure: the same history gives the same state, and the history is not mutated', () => {
    const history = [created('5m'), updated('10m')];
    const copy = JSON.parse(JSON.stringify(history));
    expect(fold(jobDecider, history)).toEqual(fold(jobDecider, history));
    expect(history).toEqual(copy);
  });

  test('ignores event types the aggregate does not know', () => {
    const fired = createEvent({
      type: 'cron.job.fired',
      source: 'cron',
      aggregateId: JOB,
      data: { job: JOB, session: SESSION, scheduledAt: T0.toISOString() },
      actor: { type: 'system', id: 'system' },
      trust: 'trusted',
      time: T0,
    });
    expect(fold(jobDecider, [created('5m'), fired])).toEqual({ status: 'active', expr: '5m', updates: 0 });
  });
});

describe('decide (given-when-then)', () => {
  test('given nothing, when create → then cron.job.created', () => {
    expect(shape(given([]).when({ kind: 'create', expr: '5m' }).events())).toEqual([
      { type: 'cron.job.created', data: definition('5m') },
    ]);
  });

  test('given created, when create again → then rejected', () => {
    expect(() => given([created('5m')]).when({ kind: 'create', expr: '5m' }).events()).toThrow(JobError);
  });

  test('given created, when update with a new expr → then cron.job.updated', () => {
    expect(shape(given([created('5m')]).when({ kind: 'update', expr: '10m' }).events())).toEqual([
      { type: 'cron.job.updated', data: definition('10m') },
    ]);
  });

  test('given created, when update with the same expr → then nothing', () => {
    expect(given([created('5m')]).when({ kind: 'update', expr: '5m' }).events()).toEqual([]);
  });

  test('given nothing, when update → then rejected', () => {
    expect(() => given([]).when({ kind: 'update', expr: '5m' }).events()).toThrow('job is not active');
  });

  test('given created, when remove → then cron.job.removed; given removed, when remove → then nothing', () => {
    expect(shape(given([created('5m')]).when({ kind: 'remove', reason: 'done' }).events())).toEqual([
      { type: 'cron.job.removed', data: { job: JOB, reason: 'done' } },
    ]);
    expect(given([created('5m'), removed('done')]).when({ kind: 'remove', reason: 'again' }).events()).toEqual([]);
  });

  test('given removed, when update → then rejected (removal is final)', () => {
    expect(() => given([created('5m'), removed('done')]).when({ kind: 'update', expr: '1h' }).events()).toThrow(JobError);
  });

  test('decided events evolve the state the same way the stored history would', () => {
    const history = [created('5m')];
    const { state, events } = given(history).when({ kind: 'update', expr: '1h' });
    const decided = events();
    expect(decided.reduce(jobDecider.evolve, state)).toEqual(fold(jobDecider, [...history, ...decided]));
  });
});
