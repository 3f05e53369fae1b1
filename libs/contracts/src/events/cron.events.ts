// Scheduled jobs, on the cronjob aggregate (`evt.cronjob.<job id>`).
import { IsBoolean, IsIn, IsNotEmpty, IsString, IsTimeZone, MaxLength, ValidateBy } from 'class-validator';
import { isRfc3339Utc } from '../rfc3339';
import { IsRfc3339Utc, IsSubjectToken, IsUuidV7, Optional } from '../validators';
import { CONTENT_MAX, NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

/**
 * `at`: once, `expr` is an RFC 3339 UTC time. `every`: an interval, a positive integer and a unit
 * (`ms`, `s`, `m`, `h`, `d`), e.g. `15m`. `cron`: a 5- to 7-field cron expression or an `@` nickname.
 */
export const SCHEDULE_KINDS = ['at', 'every', 'cron'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
export const EVERY_EXPR_PATTERN = /^[1-9][0-9]{0,9}(?:ms|s|m|h|d)$/;
const CRON_EXPR_PATTERN = /^(?:@[a-z]+|\S+(?:\s+\S+){4,6})$/;

/** Checks `expr` against the form its `kind` requires. */
export function isScheduleExpr(kind: unknown, expr: unknown): boolean {
  if (typeof expr !== 'string') return false;
  switch (kind) {
    case 'at':
      return isRfc3339Utc(expr);
    case 'every':
      return EVERY_EXPR_PATTERN.test(expr);
    case 'cron':
      return CRON_EXPR_PATTERN.test(expr.trim());
    default:
      return false;
  }
}

function IsScheduleExpr(): PropertyDecorator {
  return ValidateBy({
    name: 'isScheduleExpr',
    validator: {
      validate: (value, args) => isScheduleExpr((args?.object as { kind?: unknown }).kind, value),
      defaultMessage: () =>
        'expr must match kind: an RFC 3339 UTC time for "at", e.g. "15m" for "every", a cron expression for "cron"',
    },
  });
}

export class CronJobDefinitionData {
  @IsUuidV7() job: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) name?: string;
  @IsIn(SCHEDULE_KINDS) kind: ScheduleKind;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) @IsScheduleExpr() expr: string;
  /** IANA time zone for `cron` schedules (default UTC). */
  @Optional() @IsTimeZone() tz?: string;
  /** Session the job's turns run in. */
  @IsSubjectToken() session: string;
  /** Set up by Palisade itself (e.g. checkpoints), not by an operator or the agent. */
  @IsBoolean() system: boolean;
  /** Content: what the agent is told when the job fires. */
  @Optional() @IsString() @MaxLength(CONTENT_MAX) prompt?: string;
}

export class CronJobRemovedData {
  @IsUuidV7() job: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason?: string;
}

export class CronJobFiredData {
  @IsUuidV7() job: string;
  @IsSubjectToken() session: string;
  @IsRfc3339Utc() scheduledAt: string;
  @Optional() @IsUuidV7() turn?: string;
}

declare module './registry' {
  interface EventPayloads {
    'cron.job.created': CronJobDefinitionData;
    'cron.job.updated': CronJobDefinitionData;
    'cron.job.removed': CronJobRemovedData;
    'cron.job.fired': CronJobFiredData;
  }
}

registerEvent({
  type: 'cron.job.created',
  version: 1,
  aggregateType: 'cronjob',
  payload: CronJobDefinitionData,
  contentFields: ['prompt'],
  description: "A scheduled job was created; its turns carry the creator's trust at creation time.",
});
registerEvent({
  type: 'cron.job.updated',
  version: 1,
  aggregateType: 'cronjob',
  payload: CronJobDefinitionData,
  contentFields: ['prompt'],
  description: 'A scheduled job was changed (full new definition).',
});
registerEvent({
  type: 'cron.job.removed',
  version: 1,
  aggregateType: 'cronjob',
  payload: CronJobRemovedData,
  contentFields: [],
  description: 'A scheduled job was removed.',
});
registerEvent({
  type: 'cron.job.fired',
  version: 1,
  aggregateType: 'cronjob',
  payload: CronJobFiredData,
  contentFields: [],
  description: 'A scheduled job fired and started a turn.',
});
