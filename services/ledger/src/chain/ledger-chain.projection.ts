// Writes every EVENTS message, in stream order, as one hash-chained row of ledger.ledger.
import type { DataSource, EntityManager } from 'typeorm';
import { chainHash, GENESIS_HASH, jcs, PalisadeEvent } from '@palisade/contracts';
import type { CheckpointStore, ProjectionHandler } from '@palisade/event-log';

export interface LedgerHead {
  seq: number;
  hash: string;
}

/** The ledger's checkpoint is its own last row: the writer never needs UPDATE rights. */
export const ledgerCheckpointStore: CheckpointStore = {
  async read(db: DataSource) {
    const rows = await db.query('SELECT coalesce(max(ledger_seq), 0) AS seq FROM ledger.ledger');
    return Number(rows[0].seq);
  },
  async lock(tx: EntityManager) {
    // One writer at a time, even with two ledger processes: the second waits, then sees the rows.
    // (An advisory lock: a table lock that strong would need UPDATE rights the ledger role must not have.)
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('palisade.ledger.writer'))");
    const rows = await tx.query('SELECT coalesce(max(ledger_seq), 0) AS seq FROM ledger.ledger');
    return Number(rows[0].seq);
  },
  async save() {
    // Nothing to do: the inserted rows are the checkpoint.
  },
};

export class LedgerChainProjection implements ProjectionHandler {
  /** The ledger records every event. */
  readonly types = '*' as const;
  private head?: LedgerHead;

  async apply(event: PalisadeEvent, seq: number, tx: EntityManager): Promise<void> {
    // The cached head is trusted only if it is exactly the previous row (a rolled-back batch leaves it ahead).
    if (!this.head || this.head.seq !== seq - 1) this.head = await readHead(tx);
    if (this.head.seq !== seq - 1) {
      throw new Error(`ledger gap: last entry is ${this.head.seq}, next event is stream sequence ${seq}`);
    }
    const canonical = jcs(event);
    const hash = chainHash(this.head.hash, seq, event);
    await tx.query(
      `INSERT INTO ledger.ledger (ledger_seq, stream_seq, event_id, event_type, aggregate_id, canonical, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [seq, seq, event.id, event.type, event.subject, canonical, this.head.hash, hash],
    );
    this.head = { seq, hash };
  }

  async reset(): Promise<void> {
    throw new Error('the ledger is append-only and cannot be rebuilt in place');
  }

  current(): LedgerHead | undefined {
    return this.head;
  }
}

export async function readHead(q: { query: (sql: string) => Promise<{ ledger_seq: string; hash: string }[]> }): Promise<LedgerHead> {
  const rows = await q.query('SELECT ledger_seq, hash FROM ledger.ledger ORDER BY ledger_seq DESC LIMIT 1');
  return rows.length ? { seq: Number(rows[0].ledger_seq), hash: rows[0].hash } : { seq: 0, hash: GENESIS_HASH };
}
