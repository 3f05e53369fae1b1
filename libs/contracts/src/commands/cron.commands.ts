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

export interface CronJobView {
  job: string;
  name?: string;
  kind: ScheduleKind;
  expr: string;
  tz?: string;
  session: string;
  system: boolean;
  nextRunAt?: string;
  lastFiredAt?: string;
}
