// The SOC feed: for each ledger entry, an audit record on `audit.<event type>` (captured by the
// append-only AUDIT stream for replay). Chat text and secrets never leave: toAuditRecord replaces content
// fields by digest and length. The feed keeps its own cursor, so a failed publish is retried and a
// restart resumes after the last record AUDIT holds (message ids make a repeat harmless).
import { jetstream, JetStreamClient } from '@nats-io/jetstream';
import { headers, NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { AUDIT_STREAM, auditSubject, PalisadeEvent, toAuditRecord } from '@palisade/contracts';

export const FEED_SEQ_HEADER = 'Palisade-Feed-Seq';

export class SocFeedPublisher {
  private readonly js: JetStreamClient;
  private cursor = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly db: DataSource,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.js = jetstream(nc);
  }

  get position(): number {
    return this.cursor;
  }

  async init(): Promise<void> {
    this.cursor = await this.lastPublished();
  }

  /** Publishes every entry after the cursor up to `seq`; calls are serialised. */
  publishUpTo(seq: number): Promise<void> {
    this.chain = this.chain.then(() => this.drain(seq)).catch((error: Error) => this.log(`SOC feed: ${error.message}`));
    return this.chain;
  }

  private async drain(until: number): Promise<void> {
    while (this.cursor < until) {
      const rows: { ledger_seq: string; hash: string; canonical: string }[] = await this.db.query(
        'SELECT ledger_seq, hash, canonical FROM ledger.ledger WHERE ledger_seq > $1 AND ledger_seq <= $2 ORDER BY ledger_seq LIMIT 500',
        [this.cursor, until],
      );
      if (!rows.length) return;
      const acks = rows.map((row) => {
        const event = JSON.parse(row.canonical) as PalisadeEvent;
        const record = toAuditRecord(event, Number(row.ledger_seq), row.hash);
        const hdrs = headers();
        hdrs.set(FEED_SEQ_HEADER, row.ledger_seq);
        return this.js.publish(auditSubject(event.type), JSON.stringify(record), { msgID: `audit-${row.ledger_seq}-${row.hash.slice(0, 16)}`, headers: hdrs });
      });
      await Promise.all(acks);
      this.cursor = Number(rows[rows.length - 1].ledger_seq);
    }
  }

  /** Publishes an extra record (checkpoints) stamped with the current cursor. */
  async publishRaw(subject: string, body: unknown, msgId: string): Promise<void> {
    await this.chain;
    const hdrs = headers();
    hdrs.set(FEED_SEQ_HEADER, String(this.cursor));
    await this.js.publish(subject, JSON.stringify(body), { msgID: msgId, headers: hdrs });
  }

  /** The feed position recorded on the newest AUDIT message that carries one. */
  private async lastPublished(): Promise<number> {
    let seq = Number.MAX_SAFE_INTEGER;
    for (let walked = 0; walked < 1_000; walked++) {
      const reply = await this.nc.request(
        `$JS.API.STREAM.MSG.GET.${AUDIT_STREAM}`,
        JSON.stringify(seq === Number.MAX_SAFE_INTEGER ? { last_by_subj: 'audit.>' } : { seq }),
        { timeout: 5_000 },
      );
      const body = reply.json<{ message?: { seq: number; hdrs?: string }; error?: { code: number } }>();
      if (!body.message) return 0;
      const raw = body.message.hdrs ? Buffer.from(body.message.hdrs, 'base64').toString('utf8') : '';
      const match = new RegExp(`^${FEED_SEQ_HEADER}:\\s*(\\d+)`, 'mi').exec(raw);
      if (match) return Number(match[1]);
      if (body.message.seq <= 1) return 0;
      seq = body.message.seq - 1;
    }
    return 0;
  }
}
