// A projector keeps a PostgreSQL read model in step with EVENTS.
// - resumable: its checkpoint (last applied stream sequence) is committed in the same transaction as the rows;
// - idempotent: an event at or below the checkpoint changes nothing;
// - gap-free: anything between the checkpoint and a delivered message is read by sequence first, so it
//   catches up after PostgreSQL or NATS was down, and after a rebuild (checkpoint reset to 0);
// - strict: an event it cannot parse halts it, naming the sequence, instead of being skipped.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource, EntityManager } from 'typeorm';
import type { PalisadeEvent } from '@palisade/contracts';
import { EventLogError, EventLogErrorCode } from './event-log.errors';
import { EventStore, parseStoredEvent, StoredEvent } from './event-store';

export interface ProjectionHandler {
  /** Event types this handler applies ('*': all); others only advance the checkpoint. */
  types: readonly string[] | '*';
  apply(event: PalisadeEvent, seq: number, tx: EntityManager): Promise<void>;
  /** Empties the read model before a rebuild. */
  reset(tx: EntityManager): Promise<void>;
}

export interface ProjectorOptions {
  /** Name of the checkpoint row and of the durable consumer on EVENTS (one per service). */
  name: string;
  durable: string;
  /** The stream the durable belongs to (EVENTS; tests use a scratch stream). */
  stream?: string;
  schema: string;
  handlers: ProjectionHandler[];
  batchSize?: number;
  onHalt?: (error: EventLogError) => void;
  log?: (message: string) => void;
  /** Runs after each committed batch (e.g. the ledger publishes its SOC feed). Errors are logged, not fatal. */
  afterCommit?: (applied: { seq: number; event: PalisadeEvent }[]) => Promise<void>;
  /**
   * Where the checkpoint lives. Default: a row in <schema>.projection_checkpoint. The ledger instead
   * derives it from its own append-only table (its last row), so it never needs UPDATE rights.
   */
  checkpointStore?: CheckpointStore;
}

export interface CheckpointStore {
  read(db: DataSource): Promise<number>;
  /** Reads the checkpoint inside the transaction, locking out concurrent writers. */
  lock(tx: EntityManager): Promise<number>;
  save(tx: EntityManager, seq: number): Promise<void>;
}

export class Projector {
  private running = false;
  private loop?: Promise<void>;
  private checkpoint = 0;
  halted?: EventLogError;

  constructor(
    private readonly nc: NatsConnection,
    private readonly db: DataSource,
    private readonly store: EventStore,
    private readonly options: ProjectorOptions,
  ) {}

  get position(): number {
    return this.checkpoint;
  }

  async start(): Promise<void> {
    this.running = true;
    this.checkpoint = await this.readCheckpoint();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
  }

  /** Empties the read model and replays the whole stream into it. */
  async rebuild(): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const handler of this.options.handlers) await handler.reset(tx);
      await this.saveCheckpoint(tx, 0);
    });
    this.checkpoint = 0;
    await this.catchUp(await this.store.lastSeq());
  }

  /** Resolves once everything up to `seq` is applied (for tests and read-your-writes). */
  async waitFor(seq: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.checkpoint < seq) {
      if (this.halted) throw this.halted;
      if (Date.now() > deadline) throw new Error(`projector ${this.options.name} did not reach ${seq} (at ${this.checkpoint})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        await this.catchUp(await this.store.lastSeq());
        const consumer = await jetstream(this.nc).consumers.get(this.options.stream ?? 'EVENTS', this.options.durable);
        while (this.running) {
          const batch = await consumer.fetch({ max_messages: this.options.batchSize ?? 100, expires: 1_000 });
          for await (const msg of batch) {
            // Apply this message and everything already waiting behind it (info.pending) by sequence,
            // in batches of one transaction each; their own deliveries are then just acknowledged.
            if (msg.seq > this.checkpoint) await this.catchUp(msg.seq + msg.info.pending);
            msg.ack();
          }
          backoff = 100;
        }
      } catch (error) {
        if (error instanceof EventLogError && error.code === EventLogErrorCode.Corrupt) {
          this.halted = error;
          this.running = false;
          this.options.log?.(`projector ${this.options.name} halted: ${error.message}`);
          this.options.onHalt?.(error);
          return;
        }
        this.options.log?.(`projector ${this.options.name}: ${(error as Error).message}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** Reads by sequence from the checkpoint up to `until`, applying in batches. */
  private async catchUp(until: number): Promise<void> {
    while (this.checkpoint < until) {
      const batch: StoredEvent[] = [];
      for (let seq = this.checkpoint + 1; seq <= until && batch.length < (this.options.batchSize ?? 100); seq++) {
        const stored = await this.store.getBySeq(seq);
        if (!stored) break;
        batch.push(stored);
      }
      if (!batch.length) return;
      await this.applyBatch(batch);
    }
  }

  private async applyBatch(batch: { seq: number; raw: string }[]): Promise<void> {
    // Parse everything first: a bad event stops the projector before any row of the batch is written.
    const events = batch.map((m) => ({ seq: m.seq, event: parseStoredEvent(m.raw, m.seq) }));
    const last = events[events.length - 1].seq;
    await this.db.transaction(async (tx) => {
      const current = await this.lockCheckpoint(tx);
      for (const { seq, event } of events) {
        if (seq <= current) continue; // another replica or an earlier delivery applied it
        for (const handler of this.options.handlers) {
          if (handler.types === '*' || handler.types.includes(event.type)) await handler.apply(event, seq, tx);
        }
      }
      if (last > current) await this.saveCheckpoint(tx, last);
    });
    this.checkpoint = Math.max(this.checkpoint, last);
    if (this.options.afterCommit) {
      await this.options.afterCommit(events).catch((error: Error) =>
        this.options.log?.(`projector ${this.options.name}: after-commit step failed: ${error.message}`),
      );
    }
  }

  private table(): string {
    return `"${this.options.schema}"."projection_checkpoint"`;
  }

  private async readCheckpoint(): Promise<number> {
    if (this.options.checkpointStore) return this.options.checkpointStore.read(this.db);
    const rows = await this.db.query(`SELECT last_seq FROM ${this.table()} WHERE projection = $1`, [this.options.name]);
    return rows.length ? Number(rows[0].last_seq) : 0;
  }

  private async lockCheckpoint(tx: EntityManager): Promise<number> {
    if (this.options.checkpointStore) return this.options.checkpointStore.lock(tx);
    await tx.query(
      `INSERT INTO ${this.table()} (projection, last_seq) VALUES ($1, 0) ON CONFLICT (projection) DO NOTHING`,
      [this.options.name],
    );
    const rows = await tx.query(`SELECT last_seq FROM ${this.table()} WHERE projection = $1 FOR UPDATE`, [this.options.name]);
    return Number(rows[0].last_seq);
  }

  private async saveCheckpoint(tx: EntityManager, seq: number): Promise<void> {
    if (this.options.checkpointStore) return this.options.checkpointStore.save(tx, seq);
    await tx.query(
      `INSERT INTO ${this.table()} (projection, last_seq, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (projection) DO UPDATE SET last_seq = EXCLUDED.last_seq, updated_at = now()`,
      [this.options.name, seq],
    );
  }
}
