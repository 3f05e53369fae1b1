import type { ActorType, Trust } from '../enums';
import type { ScheduleKind } from '../events/cron.events';

export const CRON_CREATE = 'cmd.cron.create';
export const CRON_UPDATE = 'cmd.cron.update';
export const CRON_REMOVE = 'cmd.cron.remove';
export const CRON_LIST = 'cmd.cron.list';

export interface CronCreator {
  type: Extract<ActorType, 'user' | 'apikey' | 'sender'>;
  id: string;
  /** The creator's trust at creation time: the job's turns carry it. */
  trust: Trust;
}

/** There is deliberately no `system` field: only cron itself creates system jobs. */
export interface CronCreateRequest {
  name?: string;
  kind: ScheduleKind;
  expr: string;
  tz?: string;
  session: string;
  prompt: string;
  creator: CronCreator;
}

export interface CronUpdateRequest extends CronCreateRequest {
  job: string;
}

export interface CronRemoveRequest {
  job: string;
  reason?: string;
  creator: CronCreator;
}

/** `cmd.cron.list`: the jobs that exist (not removed), including finished one-shot jobs. */
export type CronListRequest = Record<string, never>;

export interface CronListReply {
  jobs: CronJobView[];
}

export interface CronRemoveReply {
  job: string;
  removed: true;
}

/** Details of a `rate_limited` refusal of `cmd.cron.create`. */
export interface CronRateLimitDetails {
  limit: number;
  windowSeconds: number;
  retryAfterSeconds: number;
}

/** Reply of `cmd.cron.create` and `cmd.cron.update`. */
export interface CronJobView {
  job: string;
  name?: string;
  kind: ScheduleKind;
  expr: string;
  tz?: string;
  session: string;
  system: boolean;
  /** Trust the job's turns carry (its creator's, or its last updater's, at that time). */
  trust: Trust;
  nextRunAt?: string;
  lastFiredAt?: string;
}
