// Parsing and due-time arithmetic for the three schedule kinds. Pure: every function takes the
// instants it needs, so the projection computes the same due times on replay as it did live.
import { Cron } from 'croner';
import { EVERY_EXPR_PATTERN, isRfc3339Utc, type ScheduleKind } from '@palisade/contracts';

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

/** Shortest `every` interval: faster jobs would flood the log with fired events. */
export const MIN_EVERY_MS = 1_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export type Schedule =
  | { kind: 'at'; at: number }
  | { kind: 'every'; intervalMs: number }
  | { kind: 'cron'; cron: Cron; years?: YearSet; tz: string };

export interface ScheduleInput {
  kind: ScheduleKind;
  expr: string;
  tz?: string;
}

/** True if `tz` is an IANA time zone this runtime knows. */
export function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses and checks a schedule; throws ScheduleError with a message a caller can act on. */
export function parseSchedule({ kind, expr, tz }: ScheduleInput): Schedule {
  if (tz !== undefined && kind !== 'cron')
    throw new ScheduleError(`tz applies only to "cron" schedules, not "${kind}"`);
  switch (kind) {
    case 'at': {
      if (!isRfc3339Utc(expr))
        throw new ScheduleError(
          `"at" needs an RFC 3339 UTC time such as 2030-01-31T08:00:00Z, got "${expr}"`,
        );
      return { kind, at: Date.parse(expr) };
    }
    case 'every': {
      if (!EVERY_EXPR_PATTERN.test(expr)) {
        throw new ScheduleError(
          `"every" needs a positive integer and a unit (ms, s, m, h, d) such as 15m, got "${expr}"`,
        );
      }
      const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(expr)!;
      const intervalMs = Number(amount) * UNIT_MS[unit];
      if (intervalMs < MIN_EVERY_MS) throw new ScheduleError(`"every" must be at least 1s, got "${expr}"`);
      return { kind, intervalMs };
    }
    case 'cron': {
      const zone = tz ?? 'UTC';
      if (!isKnownTimeZone(zone))
        throw new ScheduleError(`unknown time zone "${zone}" (use an IANA name such as Europe/Berlin)`);
      const trimmed = expr.trim();
      const fields = trimmed.split(/\s+/);
      let years: YearSet | undefined;
      let pattern = trimmed;
      if (!trimmed.startsWith('@')) {
        if (fields.length < 5 || fields.length > 7) {
          throw new ScheduleError(
            `a cron expression has 5 to 7 fields (or is an @nickname), got ${fields.length}: "${expr}"`,
          );
        }
        // croner knows seconds but not years: the optional seventh field is checked here.
        if (fields.length === 7) {
          years = parseYearField(fields[6]);
          pattern = fields.slice(0, 6).join(' ');
        }
      }
      let cron: Cron;
      try {
        cron = new Cron(pattern, { timezone: zone, paused: true });
      } catch (error) {
        throw new ScheduleError(
          `bad cron expression "${expr}": ${(error as Error).message.replace(/^CronPattern: /, '')}`,
        );
      }
      const schedule: Schedule = { kind, cron, years, tz: zone };
      return schedule;
    }
    default:
      throw new ScheduleError(`unknown schedule kind "${String(kind)}" (at, every or cron)`);
  }
}

/** The first due time of a job defined (created or updated) at `definedAt`; undefined: never. */
export function firstDue(schedule: Schedule, definedAt: number): number | undefined {
  switch (schedule.kind) {
    case 'at':
      return schedule.at;
    case 'every':
      return definedAt + schedule.intervalMs;
    case 'cron':
      return cronNextAfter(schedule, definedAt);
  }
}

/**
 * The due time after the run scheduled for `scheduledAt` fired at `firedAt`. Always after `firedAt`:
 * runs missed while cron was down (or the agent frozen) are fired once, never as a burst. `every`
 * stays on its grid (definition time + n × interval) so a late run does not shift the cadence.
 */
export function nextDueAfterFiring(
  schedule: Schedule,
  scheduledAt: number,
  firedAt: number,
): number | undefined {
  switch (schedule.kind) {
    case 'at':
      return undefined;
    case 'every': {
      const late = Math.max(0, firedAt - scheduledAt);
      return scheduledAt + schedule.intervalMs * (Math.floor(late / schedule.intervalMs) + 1);
    }
    case 'cron':
      return cronNextAfter(schedule, Math.max(scheduledAt, firedAt));
  }
}

/** Next occurrence strictly after `after` (croner works in whole seconds). */
function cronNextAfter(schedule: Extract<Schedule, { kind: 'cron' }>, after: number): number | undefined {
  let from = new Date(after);
  // Bounded: each step either matches or jumps to the next allowed year.
  for (let i = 0; i < 1_000; i++) {
    const next = schedule.cron.nextRun(from);
    if (!next) return undefined;
    if (!schedule.years) return next.getTime();
    const year = yearIn(next, schedule.tz);
    if (schedule.years.has(year)) return next.getTime();
    const nextYear = schedule.years.nextFrom(year + 1);
    if (nextYear === undefined) return undefined;
    from = new Date(startOfYearIn(nextYear, schedule.tz) - 1_000);
  }
  return undefined;
}

// --- the optional year field ------------------------------------------------------------------------

const YEAR_MIN = 1970;
const YEAR_MAX = 2199;

export class YearSet {
  constructor(private readonly years: ReadonlySet<number> | 'any') {}
  has(year: number): boolean {
    return this.years === 'any' || this.years.has(year);
  }
  nextFrom(year: number): number | undefined {
    if (this.years === 'any') return year <= YEAR_MAX ? year : undefined;
    let best: number | undefined;
    for (const y of this.years) if (y >= year && (best === undefined || y < best)) best = y;
    return best;
  }
}

/** `*`, `2030`, `2030-2035`, `*\/2`, `2030-2040/5`, and comma lists of those. */
export function parseYearField(field: string): YearSet {
  if (field === '*') return new YearSet('any');
  const years = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|(\d{4})(?:-(\d{4}))?)(?:\/(\d{1,3}))?$/.exec(part);
    if (!m) throw new ScheduleError(`bad year field "${field}" (e.g. 2030, 2030-2035, */2)`);
    const from = m[1] === '*' ? YEAR_MIN : Number(m[2]);
    const to = m[1] === '*' ? YEAR_MAX : m[3] ? Number(m[3]) : m[4] ? YEAR_MAX : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from < YEAR_MIN || to > YEAR_MAX || from > to || step < 1) {
      throw new ScheduleError(`bad year field "${field}": years run from ${YEAR_MIN} to ${YEAR_MAX}`);
    }
    for (let y = from; y <= to; y += step) years.add(y);
  }
  return new YearSet(years);
}

function yearIn(date: Date, tz: string): number {
  return Number(new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric' }).format(date));
}

/** The instant of local midnight, 1 January of `year`, in `tz`. */
function startOfYearIn(year: number, tz: string): number {
  const guess = Date.UTC(year, 0, 1);
  return guess - offsetMs(guess, tz);
}

function offsetMs(instant: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return local - Math.floor(instant / 1000) * 1000;
}
