import { isUuidV7 } from '@palisade/contracts';
import { systemJobIdOf, viewOf, type JobRow } from './cron-jobs';

describe('system job ids', () => {
  it('are valid UUIDv7 tokens, the same on every replica, different per name', () => {
    const id = systemJobIdOf('nightly-checkpoint');
    expect(isUuidV7(id)).toBe(true);
    expect(systemJobIdOf('nightly-checkpoint')).toBe(id);
    expect(systemJobIdOf('weekly-report')).not.toBe(id);
  });
});

describe('viewOf', () => {
  it('leaves out what is unset and never exposes the prompt or creator', () => {
    const row: JobRow = {
      job: '01900000-0000-7000-8000-000000000000',
      name: null,
      kind: 'at',
      expr: '2030-01-01T00:00:00Z',
      tz: null,
      session: 'ses_x',
      prompt: 'secret plans',
      system: false,
      trust: 'untrusted',
      creator_type: 'sender',
      creator_id: 'bob',
      definition_event_id: '01900000-0000-7000-8000-000000000001',
      version: '7',
      next_run_at: null,
      last_fired_at: new Date('2030-01-01T00:00:00.120Z'),
      removed_at: null,
    };
    expect(viewOf(row)).toEqual({
      job: row.job,
      kind: 'at',
      expr: '2030-01-01T00:00:00Z',
      session: 'ses_x',
      system: false,
      trust: 'untrusted',
      lastFiredAt: '2030-01-01T00:00:00.120Z',
    });
  });
});
