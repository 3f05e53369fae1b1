// The commands on cron jobs: create (rate limited), update, remove, list, and the server-only
// creation of system jobs. State comes from the read model; every append carries the version read
// there, so a decision taken on a lagging row fails with a conflict instead of overwriting news.
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  createEvent,
  RpcError,
  RpcErrorCode,
  uuidv7,
  type CronJobDefinitionData,
  type CronJobView,
  type CronRemoveReply,
  type EventActor,
  type ScheduleKind,
  type Trust,
} from '@palisade/contracts';
import { ConcurrencyError, type EventStore } from '@palisade/event-log';
import type { CreationRateLimiter } from '../rate-limit/creation-rate-limiter';
import { firstDue, parseSchedule, ScheduleError, type Schedule } from '../schedule/schedule';
import type { CronCreateDto, CronCreatorDto, CronRemoveDto, CronUpdateDto } from './cron-job.dto';

export interface JobRow {
  job: string;
  name: string | null;
  kind: ScheduleKind;
  expr: string;
  tz: string | null;
  session: string;
  prompt: string | null;
  system: boolean;
  trust: Trust;
  creator_type: string;
  creator_id: string;
  definition_event_id: string;
  version: string;
  next_run_at: Date | null;
  last_fired_at: Date | null;
  removed_at: Date | null;
}

/** A job defined by Palisade's own configuration (PALISADE_CRON_SYSTEM_JOBS_FILE). */
export interface SystemJobDefinition {
  name: string;
  kind: ScheduleKind;
  expr: string;
  tz?: string;
  session: string;
  prompt?: string;
}

const SYSTEM_ACTOR: EventActor = { type: 'system', id: 'cron' };

/** A stable UUIDv7-shaped id per system job name, so every replica derives the same aggregate. */
export function systemJobIdOf(name: string): string {
  const hex = createHash('sha256').update(`palisade.cron.system\n${name}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function viewOf(row: JobRow): CronJobView {
  const view: CronJobView = {
    job: row.job,
    kind: row.kind,
    expr: row.expr,
    session: row.session,
    system: row.system,
    trust: row.trust,
  };
  if (row.name !== null) view.name = row.name;
  if (row.tz !== null) view.tz = row.tz;
  if (row.next_run_at) view.nextRunAt = row.next_run_at.toISOString();
  if (row.last_fired_at) view.lastFiredAt = row.last_fired_at.toISOString();
  return view;
}

export class CronJobs {
  constructor(
    private readonly store: EventStore,
    private readonly db: DataSource,
    private readonly limiter: CreationRateLimiter,
    /** Resolves once the read model has applied stream sequence `seq` (best effort). */
    private readonly readModelAt: (seq: number) => Promise<void>,
  ) {}

  async create(request: CronCreateDto): Promise<CronJobView> {
    this.checkedSchedule(request);
    const job = uuidv7();
    const event = createEvent({
      type: 'cron.job.created',
      source: 'cron',
      aggregateId: job,
      data: this.definition(job, request, false),
      actor: { type: request.creator.type, id: request.creator.id },
      trust: request.creator.trust,
    });
    const { seq } = await this.limiter.admit(
      { job, creatorType: request.creator.type, creatorId: request.creator.id },
      () => this.store.append(event, 'none'),
    );
    return this.viewAfter(job, seq);
  }

  async update(request: CronUpdateDto): Promise<CronJobView> {
    this.checkedSchedule(request);
    const seq = await this.withCurrent(request.job, async (row) => {
      this.authorize(request.creator, row, 'change');
      const event = createEvent({
        type: 'cron.job.updated',
        source: 'cron',
        aggregateId: row.job,
        data: this.definition(row.job, request, false),
        actor: { type: request.creator.type, id: request.creator.id },
        // From now on the job's turns carry the updater's trust (an untrusted caller may only change
        // its own untrusted jobs, so this never raises a job above what its author had).
        trust: request.creator.trust,
      });
      return (await this.store.append(event, Number(row.version))).seq;
    });
    return this.viewAfter(request.job, seq);
  }

  async remove(request: CronRemoveDto): Promise<CronRemoveReply> {
    const seq = await this.withCurrent(request.job, async (row) => {
      this.authorize(request.creator, row, 'remove');
      const event = createEvent({
        type: 'cron.job.removed',
        source: 'cron',
        aggregateId: row.job,
        data: request.reason ? { job: row.job, reason: request.reason } : { job: row.job },
        actor: { type: request.creator.type, id: request.creator.id },
        trust: request.creator.trust,
      });
      return (await this.store.append(event, Number(row.version))).seq;
    });
    await this.readModelAt(seq);
    return { job: request.job, removed: true };
  }

  async list(): Promise<CronJobView[]> {
    const rows: JobRow[] = await this.db.query(
      'SELECT * FROM cron.job WHERE removed_at IS NULL ORDER BY created_at, job',
    );
    return rows.map(viewOf);
  }

  /**
   * Creates or updates a system job. Server-side only: not reachable over NATS, exempt from the rate
   * limit. Appends with expected versions, so replicas starting together write each change once.
   */
  async ensureSystemJob(def: SystemJobDefinition): Promise<'created' | 'updated' | 'unchanged'> {
    this.checkedSchedule(def);
    const job = systemJobIdOf(def.name);
    const data = this.definition(job, def, true);
    const row = await this.row(job);
    if (row && !row.removed_at && sameDefinition(row, data)) return 'unchanged';
    // A system job removed earlier (dropped from the file) and configured again is created anew on
    // the same aggregate, after its removal.
    const event = createEvent({
      type: row && !row.removed_at ? 'cron.job.updated' : 'cron.job.created',
      source: 'cron',
      aggregateId: job,
      data,
      actor: SYSTEM_ACTOR,
      trust: 'trusted',
    });
    try {
      const { seq } = await this.store.append(event, row ? Number(row.version) : 'none');
      await this.readModelAt(seq);
    } catch (error) {
      if (error instanceof ConcurrencyError) return 'unchanged'; // another replica wrote it first
      throw error;
    }
    return row && !row.removed_at ? 'updated' : 'created';
  }

  /** Removes system jobs no longer in the configuration. */
  async removeSystemJobsExcept(names: string[]): Promise<number> {
    const keep = new Set(names.map(systemJobIdOf));
    const rows: JobRow[] = await this.db.query('SELECT * FROM cron.job WHERE system AND removed_at IS NULL');
    let removed = 0;
    for (const row of rows.filter((r) => !keep.has(r.job))) {
      const event = createEvent({
        type: 'cron.job.removed',
        source: 'cron',
        aggregateId: row.job,
        data: { job: row.job, reason: 'no longer in the system job configuration' },
        actor: SYSTEM_ACTOR,
        trust: 'trusted',
      });
      try {
        await this.readModelAt((await this.store.append(event, Number(row.version))).seq);
        removed++;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
    return removed;
  }

  private definition(
    job: string,
    request: {
      name?: string;
      kind: ScheduleKind;
      expr: string;
      tz?: string;
      session: string;
      prompt?: string;
    },
    system: boolean,
  ): CronJobDefinitionData {
    const data: CronJobDefinitionData = {
      job,
      kind: request.kind,
      expr: request.expr,
      session: request.session,
      system,
    };
    if (request.name !== undefined) data.name = request.name;
    if (request.tz !== undefined) data.tz = request.tz;
    if (request.prompt !== undefined) data.prompt = request.prompt;
    return data;
  }

  /** Validates the schedule; a one-shot time must lie in the future. */
  private checkedSchedule(request: { kind: ScheduleKind; expr: string; tz?: string }): Schedule {
    let schedule: Schedule;
    try {
      schedule = parseSchedule(request);
    } catch (error) {
      if (error instanceof ScheduleError) throw new RpcError(RpcErrorCode.ValidationFailed, error.message);
      throw error;
    }
    if (schedule.kind === 'at' && schedule.at <= Date.now()) {
      throw new RpcError(RpcErrorCode.ValidationFailed, `"at" time ${request.expr} is in the past`);
    }
    if (schedule.kind === 'cron' && firstDue(schedule, Date.now()) === undefined) {
      throw new RpcError(RpcErrorCode.ValidationFailed, `cron expression "${request.expr}" never runs again`);
    }
    return schedule;
  }

  private authorize(caller: CronCreatorDto, row: JobRow, what: 'change' | 'remove'): void {
    if (row.system) {
      throw new RpcError(
        RpcErrorCode.Forbidden,
        `job ${row.job} is a system job: only Palisade's configuration can ${what} it`,
      );
    }
    const own = row.creator_type === caller.type && row.creator_id === caller.id;
    if (caller.trust === 'untrusted' && (row.trust === 'trusted' || !own)) {
      throw new RpcError(RpcErrorCode.Forbidden, `an untrusted caller may ${what} only its own jobs`);
    }
  }

  private async row(job: string): Promise<JobRow | undefined> {
    const rows: JobRow[] = await this.db.query('SELECT * FROM cron.job WHERE job = $1', [job]);
    return rows[0];
  }

  /**
   * Runs `decide` on the current row, appending at the row's version. A conflict means the row was
   * behind the log (or the job fired meanwhile): wait for the projection and decide again.
   */
  private async withCurrent(job: string, decide: (row: JobRow) => Promise<number>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.row(job);
      if (!row || row.removed_at) throw new RpcError(RpcErrorCode.NotFound, `no cron job ${job}`);
      try {
        return await decide(row);
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        if (attempt >= 5)
          throw new RpcError(RpcErrorCode.Conflict, `cron job ${job} keeps changing; try again`);
        await this.readModelAt(await this.store.lastSeq());
      }
    }
  }

  private async viewAfter(job: string, seq: number): Promise<CronJobView> {
    await this.readModelAt(seq);
    const row = await this.row(job);
    if (!row) throw new RpcError(RpcErrorCode.Unavailable, `job ${job} was stored but is not readable yet`);
    return viewOf(row);
  }
}

function sameDefinition(row: JobRow, data: CronJobDefinitionData): boolean {
  return (
    row.system &&
    row.kind === data.kind &&
    row.expr === data.expr &&
    (row.tz ?? undefined) === data.tz &&
    row.session === data.session &&
    (row.prompt ?? undefined) === data.prompt &&
    (row.name ?? undefined) === data.name
  );
}
