// Signs checkpoints of the chain head (contracts: JCS({seq, hash, time, keyid}) signed with Ed25519)
// every N entries or T seconds, and on demand. Each checkpoint is stored in ledger.checkpoint, appended
// to EVENTS as `ledger.checkpoint.signed` and published on `audit.checkpoint`, so copies live outside
// PostgreSQL: a rewritten ledger tail cannot match them.
import type { KeyObject } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AUDIT_CHECKPOINT_SUBJECT, checkpointPayload, createEvent, keyIdOf, signCheckpoint } from '@palisade/contracts';
import type { EventStore } from '@palisade/event-log';
import { readHead } from '../chain/ledger-chain.projection';
import type { SocFeedPublisher } from '../feed/soc-feed.publisher';

export interface SignedCheckpoint {
  seq: number;
  hash: string;
  time: string;
  keyid: string;
  signature: string;
}

export class CheckpointSigner {
  private lastSignedSeq = 0;
  private readonly keyid: string;
  private signing: Promise<SignedCheckpoint | undefined> = Promise.resolve(undefined);

  constructor(
    private readonly db: DataSource,
    private readonly store: EventStore,
    private readonly feed: SocFeedPublisher,
    private readonly privateKey: KeyObject,
    publicKey: KeyObject,
    private readonly every: number,
  ) {
    this.keyid = keyIdOf(publicKey);
  }

  get keyId(): string {
    return this.keyid;
  }

  async init(): Promise<void> {
    const rows = await this.db.query('SELECT coalesce(max(ledger_seq), 0) AS seq FROM ledger.checkpoint');
    this.lastSignedSeq = Number(rows[0].seq);
  }

  /** After each batch: sign when N entries accumulated since the last checkpoint. */
  async onAppended(head: number): Promise<void> {
    if (head - this.lastSignedSeq >= this.every) await this.sign();
  }

  /** On the timer: sign if anything other than checkpoint events was recorded since the last one. */
  async onTimer(): Promise<void> {
    const rows = await this.db.query(
      `SELECT count(*) AS n FROM ledger.ledger WHERE ledger_seq > $1 AND event_type <> 'ledger.checkpoint.signed'`,
      [this.lastSignedSeq],
    );
    if (Number(rows[0].n) > 0) await this.sign();
  }

  /** Signs the current head now (serialised: concurrent callers share one signature per head). */
  sign(): Promise<SignedCheckpoint | undefined> {
    this.signing = this.signing.catch(() => undefined).then(() => this.signHead());
    return this.signing;
  }

  private async signHead(): Promise<SignedCheckpoint | undefined> {
    const head = await readHead(this.db);
    if (head.seq === 0 || head.seq <= this.lastSignedSeq) return undefined;
    const checkpoint = { seq: head.seq, hash: head.hash, time: new Date().toISOString(), keyid: this.keyid };
    const payload = checkpointPayload(checkpoint);
    const signature = signCheckpoint(this.privateKey, checkpoint);
    await this.db.query(
      'INSERT INTO ledger.checkpoint (ledger_seq, hash, time, keyid, signature, payload) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
      [checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.keyid, signature, payload],
    );
    this.lastSignedSeq = head.seq;
    const event = createEvent({
      type: 'ledger.checkpoint.signed',
      source: 'ledger',
      aggregateId: `ckpt-${this.keyid.slice(0, 32)}`,
      data: { ...checkpoint, signature },
      actor: { type: 'service', id: 'ledger' },
      trust: 'trusted',
    });
    await this.store.append(event);
    await this.feed.publishRaw(AUDIT_CHECKPOINT_SUBJECT, event, `checkpoint-${checkpoint.seq}-${checkpoint.hash.slice(0, 16)}`);
    return { ...checkpoint, signature };
  }
}
