// Fires due jobs. Every replica runs this loop; a due time is claimed by appending cron.job.fired
// with the expected version the job had when it became due, so exactly one replica wins and the
// others get a ConcurrencyError and move on. The projection then computes the next due time.
import type { DataSource } from 'typeorm';
import { createEvent, DEFAULT_AGENT_ID, type Trust } from '@palisade/contracts';
import { ConcurrencyError, type EventStore } from '@palisade/event-log';

interface DueRow {
  job: string;
  session: string;
  trust: Trust;
  definition_event_id: string;
  version: string;
  next_run_at: Date;
}

export class CronScheduler {
  private timer?: NodeJS.Timeout;
  private running = false;
  private ticking?: Promise<void>;
  /** Job → version this replica already tried to fire at (skips retries until the row moves on). */
  private readonly tried = new Map<string, number>();
  lastTickAt = 0;
  frozen = false;
  fired = 0;

  constructor(
    private readonly store: EventStore,
    private readonly db: DataSource,
    private readonly tickMs: number,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: Error) => this.log(`scheduler tick failed: ${error.message}`))
        .finally(() => this.schedule());
    }, this.tickMs);
  }

  async tick(now = Date.now()): Promise<void> {
    const state: { frozen: boolean }[] = await this.db.query(
      'SELECT frozen FROM cron.agent_state WHERE agent = $1',
      [DEFAULT_AGENT_ID],
    );
    this.frozen = state[0]?.frozen ?? false;
    this.lastTickAt = Date.now();
    // A frozen agent runs nothing: due jobs wait, and fire once after the thaw.
    if (this.frozen) return;
    const due: DueRow[] = await this.db.query(
      `SELECT job, session, trust, definition_event_id, version, next_run_at FROM cron.job
       WHERE removed_at IS NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT 100`,
      [new Date(now)],
    );
    for (const row of due) {
      if (!this.running) return;
      const version = Number(row.version);
      if ((this.tried.get(row.job) ?? -1) >= version) continue;
      this.tried.set(row.job, version);
      await this.fire(row, version);
    }
    if (this.tried.size > 10_000) this.tried.clear();
  }

  private async fire(row: DueRow, version: number): Promise<void> {
    const event = createEvent({
      type: 'cron.job.fired',
      source: 'cron',
      aggregateId: row.job,
      data: { job: row.job, session: row.session, scheduledAt: row.next_run_at.toISOString() },
      // A new causal chain (the event's own id), caused by the event that defined the job as it is.
      causationId: row.definition_event_id,
      // Nobody acted just now: the scheduler did. The turn carries the trust of the job's author.
      actor: { type: 'system', id: 'cron' },
      trust: row.trust,
    });
    try {
      await this.store.append(event, version);
      this.fired++;
    } catch (error) {
      if (error instanceof ConcurrencyError) return; // another replica fired it, or the job changed
      this.log(`firing job ${row.job} failed: ${(error as Error).message}`);
      this.tried.delete(row.job); // try again next tick
    }
  }
}
