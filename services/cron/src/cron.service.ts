import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { readFileSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { serviceDataSource, EventStore, Projector } from '@palisade/event-log';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@palisade/nats';
import type { CronConfig } from './cron.config';
import { SystemJobDto } from './jobs/cron-job.dto';
import { CronJobs } from './jobs/cron-jobs';
import { CronJobsProjection } from './jobs/cron-jobs.projection';
import { CRON_SCHEMA } from './migrations';
import { CreationRateLimiter } from './rate-limit/creation-rate-limiter';
import { CronScheduler } from './scheduler/cron-scheduler';

const PROJECTION = 'cron';

/** Wires the read model, the commands and the scheduler around the cron durable on EVENTS. */
@Injectable()
export class CronService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Cron');
  private db!: DataSource;
  private projector!: Projector;
  private scheduler!: CronScheduler;
  jobs!: CronJobs;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: CronConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const systemJobs = this.loadSystemJobs();
    this.db = serviceDataSource(c, CRON_SCHEMA);
    await this.db.initialize();
    const store = new EventStore(this.nc);
    const log = (message: string) => this.logger.warn(message);
    this.projector = new Projector(this.nc, this.db, store, {
      name: PROJECTION,
      durable: 'cron',
      schema: CRON_SCHEMA,
      handlers: [new CronJobsProjection()],
      log,
      onHalt: (error) => this.logger.error(`cron projection halted: ${error.message}`),
    });
    await this.projector.start();
    // Replicas share one read model and one checkpoint: wait on the shared checkpoint, not this
    // process's own position (another replica may have applied the event).
    const readModelAt = (seq: number) => this.waitForCheckpoint(seq);
    const limiter = new CreationRateLimiter(
      this.db,
      c.PALISADE_CRON_CREATE_LIMIT,
      c.PALISADE_CRON_CREATE_WINDOW_S * 1000,
    );
    this.jobs = new CronJobs(store, this.db, limiter, readModelAt);
    await readModelAt(await store.lastSeq());
    for (const def of systemJobs) {
      this.logger.log(`system job "${def.name}": ${await this.jobs.ensureSystemJob(def)}`);
    }
    const dropped = await this.jobs.removeSystemJobsExcept(systemJobs.map((j) => j.name));
    if (dropped) this.logger.log(`removed ${dropped} system job(s) no longer configured`);
    this.scheduler = new CronScheduler(store, this.db, c.PALISADE_CRON_TICK_MS, log);
    this.scheduler.start();
    this.logger.log(
      `cron projection at ${this.projector.position}; scheduler every ${c.PALISADE_CRON_TICK_MS} ms`,
    );
  }

  /** Parses the system job file; a bad file stops start-up with the reason. */
  private loadSystemJobs(): SystemJobDto[] {
    const file = this.config.PALISADE_CRON_SYSTEM_JOBS_FILE;
    if (!file) return [];
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`PALISADE_CRON_SYSTEM_JOBS_FILE: cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!Array.isArray(raw))
      throw new Error('PALISADE_CRON_SYSTEM_JOBS_FILE: must hold a JSON array of jobs');
    const jobs = raw.map((entry, i) => {
      const dto = plainToInstance(SystemJobDto, entry);
      const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
      if (errors.length) {
        const problems = errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
        throw new Error(`PALISADE_CRON_SYSTEM_JOBS_FILE: job ${i}: ${problems}`);
      }
      return dto;
    });
    const names = jobs.map((j) => j.name);
    if (new Set(names).size !== names.length)
      throw new Error('PALISADE_CRON_SYSTEM_JOBS_FILE: job names must be unique');
    return jobs;
  }

  private async waitForCheckpoint(seq: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.projector.halted) return;
      const rows: { last_seq: string }[] = await this.db.query(
        `SELECT last_seq FROM ${CRON_SCHEMA}.projection_checkpoint WHERE projection = $1`,
        [PROJECTION],
      );
      if (Number(rows[0]?.last_seq ?? 0) >= seq) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async health(): Promise<Record<string, { ok: boolean; detail?: string }>> {
    let database = true;
    try {
      await this.db.query('SELECT 1');
    } catch {
      database = false;
    }
    const halted = this.projector?.halted;
    const tickAge = this.scheduler ? Date.now() - this.scheduler.lastTickAt : Infinity;
    const alive = tickAge <= Math.max(5_000, 10 * this.config.PALISADE_CRON_TICK_MS);
    return {
      postgres: { ok: database },
      projection: halted
        ? { ok: false, detail: halted.message }
        : { ok: true, detail: `at ${this.projector?.position ?? 0}` },
      scheduler: {
        ok: alive,
        detail: alive
          ? `last tick ${tickAge} ms ago${this.scheduler.frozen ? '; agent frozen: nothing fires' : ''}; fired ${this.scheduler.fired}`
          : 'scheduler has not ticked recently',
      },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.scheduler?.stop();
    await this.projector?.stop();
    await this.db?.destroy().catch(() => undefined);
  }
}
