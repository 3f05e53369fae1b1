import { firstDue, nextDueAfterFiring, parseSchedule, parseYearField, ScheduleError } from './schedule';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('parseSchedule', () => {
  it('accepts the three kinds', () => {
    expect(parseSchedule({ kind: 'at', expr: '2030-01-31T08:00:00Z' })).toEqual({
      kind: 'at',
      at: t('2030-01-31T08:00:00Z'),
    });
    expect(parseSchedule({ kind: 'every', expr: '15m' })).toEqual({ kind: 'every', intervalMs: 900_000 });
    expect(parseSchedule({ kind: 'every', expr: '1s' })).toEqual({ kind: 'every', intervalMs: 1_000 });
    expect(parseSchedule({ kind: 'cron', expr: '0 8 * * 1-5', tz: 'Europe/Berlin' }).kind).toBe('cron');
    expect(parseSchedule({ kind: 'cron', expr: '*/5 * * * * *' }).kind).toBe('cron');
    expect(parseSchedule({ kind: 'cron', expr: '0 0 9 1 1 * 2030-2032' }).kind).toBe('cron');
    expect(parseSchedule({ kind: 'cron', expr: '@daily', tz: 'Asia/Tokyo' }).kind).toBe('cron');
  });

  it.each([
    [{ kind: 'cron', expr: '* * * * *', tz: 'Mars/Olympus_Mons' }, /unknown time zone "Mars\/Olympus_Mons"/],
    [{ kind: 'cron', expr: '61 * * * *' }, /bad cron expression .*minute: 61/],
    [{ kind: 'cron', expr: '* * *' }, /5 to 7 fields/],
    [{ kind: 'cron', expr: '* * * * * * * *' }, /5 to 7 fields/],
    [{ kind: 'cron', expr: '@fortnightly' }, /bad cron expression/],
    [{ kind: 'cron', expr: '0 0 * * * * 1850' }, /bad year field/],
    [{ kind: 'cron', expr: '0 0 * * * * next' }, /bad year field/],
    [{ kind: 'every', expr: '500ms' }, /at least 1s/],
    [{ kind: 'every', expr: '0s' }, /positive integer/],
    [{ kind: 'every', expr: '15 minutes' }, /positive integer and a unit/],
    [{ kind: 'at', expr: '2030-01-31T08:00:00+01:00' }, /RFC 3339 UTC/],
    [{ kind: 'at', expr: 'tomorrow' }, /RFC 3339 UTC/],
    [{ kind: 'every', expr: '1m', tz: 'Europe/Berlin' }, /tz applies only to "cron"/],
    [{ kind: 'hourly', expr: '1' }, /unknown schedule kind/],
  ])('refuses %j', (input, message) => {
    expect(() => parseSchedule(input as never)).toThrow(ScheduleError);
    expect(() => parseSchedule(input as never)).toThrow(message);
  });
});

describe('due times', () => {
  it('at: due at its time, then never again', () => {
    const s = parseSchedule({ kind: 'at', expr: '2030-01-31T08:00:00Z' });
    expect(iso(firstDue(s, t('2030-01-01T00:00:00Z')))).toBe('2030-01-31T08:00:00.000Z');
    expect(nextDueAfterFiring(s, t('2030-01-31T08:00:00Z'), t('2030-01-31T08:00:00.300Z'))).toBeUndefined();
  });

  it('every: one interval after definition, then on that grid', () => {
    const s = parseSchedule({ kind: 'every', expr: '10s' });
    const defined = t('2030-01-01T00:00:00.250Z');
    expect(iso(firstDue(s, defined))).toBe('2030-01-01T00:00:10.250Z');
    // fired a little late: the next run keeps the grid
    expect(iso(nextDueAfterFiring(s, t('2030-01-01T00:00:10.250Z'), t('2030-01-01T00:00:10.900Z')))).toBe(
      '2030-01-01T00:00:20.250Z',
    );
  });

  it('every: after downtime the missed runs collapse into one, then the grid resumes', () => {
    const s = parseSchedule({ kind: 'every', expr: '10s' });
    // due at :10, cron was down until :45 and fired once then: next is :50, not :20, :30, :40
    expect(iso(nextDueAfterFiring(s, t('2030-01-01T00:00:10Z'), t('2030-01-01T00:00:45Z')))).toBe(
      '2030-01-01T00:00:50.000Z',
    );
    // fired exactly on a later grid point: the next one after it
    expect(iso(nextDueAfterFiring(s, t('2030-01-01T00:00:10Z'), t('2030-01-01T00:00:40Z')))).toBe(
      '2030-01-01T00:00:50.000Z',
    );
  });

  it('cron: evaluated in the job time zone', () => {
    const s = parseSchedule({ kind: 'cron', expr: '0 8 * * 1-5', tz: 'Europe/Berlin' });
    // Friday 2030-01-04 09:00 Berlin (08:00 UTC) is past 08:00 local: next is Monday 08:00 CET = 07:00 UTC
    expect(iso(firstDue(s, t('2030-01-04T08:00:00Z')))).toBe('2030-01-07T07:00:00.000Z');
    // in summer (CEST) the same local time is 06:00 UTC
    expect(iso(firstDue(s, t('2030-07-01T00:00:00Z')))).toBe('2030-07-01T06:00:00.000Z');
    const utc = parseSchedule({ kind: 'cron', expr: '0 8 * * 1-5' });
    expect(iso(firstDue(utc, t('2030-07-01T00:00:00Z')))).toBe('2030-07-01T08:00:00.000Z');
  });

  it('cron: a local time skipped by the spring DST change still runs once that day', () => {
    // Europe/Berlin 2025-03-30: clocks jump from 02:00 to 03:00; 02:30 does not exist
    const s = parseSchedule({ kind: 'cron', expr: '30 2 * * *', tz: 'Europe/Berlin' });
    const first = firstDue(s, t('2025-03-29T12:00:00Z'))!;
    expect(iso(first)).toBe('2025-03-30T01:30:00.000Z'); // 03:30 CEST, the same day
    const second = nextDueAfterFiring(s, first, first + 200)!;
    expect(iso(second)).toBe('2025-03-31T00:30:00.000Z'); // 02:30 CEST the next day
  });

  it('cron: a local time that occurs twice in the autumn DST change runs once', () => {
    // Europe/Berlin 2025-10-26: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET)
    const s = parseSchedule({ kind: 'cron', expr: '30 2 * * *', tz: 'Europe/Berlin' });
    const runs: string[] = [];
    let at = t('2025-10-25T12:00:00Z');
    for (let i = 0; i < 3; i++) {
      at = i === 0 ? firstDue(s, at)! : nextDueAfterFiring(s, at, at + 100)!;
      runs.push(iso(at)!);
    }
    expect(runs.filter((r) => r.startsWith('2025-10-26'))).toHaveLength(1);
    expect(runs).toEqual([
      '2025-10-26T01:30:00.000Z',
      '2025-10-27T01:30:00.000Z',
      '2025-10-28T01:30:00.000Z',
    ]);
  });

  it('cron: after downtime the missed runs collapse into one', () => {
    const s = parseSchedule({ kind: 'cron', expr: '*/5 * * * *' });
    // due at 10:05, fired at 10:23 after downtime: next is 10:25
    expect(iso(nextDueAfterFiring(s, t('2030-01-01T10:05:00Z'), t('2030-01-01T10:23:10Z')))).toBe(
      '2030-01-01T10:25:00.000Z',
    );
  });

  it('cron: seconds field and the optional year field', () => {
    const everySecond = parseSchedule({ kind: 'cron', expr: '* * * * * *' });
    expect(iso(firstDue(everySecond, t('2030-01-01T00:00:00.400Z')))).toBe('2030-01-01T00:00:01.000Z');
    const yearly = parseSchedule({ kind: 'cron', expr: '0 0 9 1 1 * 2031,2033', tz: 'America/New_York' });
    const first = firstDue(yearly, t('2030-06-01T00:00:00Z'))!;
    expect(iso(first)).toBe('2031-01-01T14:00:00.000Z'); // 09:00 EST
    expect(iso(nextDueAfterFiring(yearly, first, first + 100))).toBe('2033-01-01T14:00:00.000Z');
    const over = parseSchedule({ kind: 'cron', expr: '0 0 9 1 1 * 2031' });
    expect(nextDueAfterFiring(over, t('2031-01-01T09:00:00Z'), t('2031-01-01T09:00:01Z'))).toBeUndefined();
  });

  it('year fields: ranges and steps', () => {
    const set = parseYearField('2030-2040/5,2099');
    expect([2030, 2035, 2040, 2099].every((y) => set.has(y))).toBe(true);
    expect(set.has(2031)).toBe(false);
    expect(set.nextFrom(2036)).toBe(2040);
    expect(set.nextFrom(2100)).toBeUndefined();
  });
});
