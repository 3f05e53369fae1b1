// The ledger's hash chain (contracts: "Ledger hash chain"):
//   hash = hex(sha256(prev_hash + "\n" + stream_seq + "\n" + JCS(event)))
// Each row commits to its predecessor, its position in EVENTS and the exact event appended, so an
// edited, deleted, inserted or reordered row changes every hash after it.
import { createHash } from 'node:crypto';
import { jcs } from './jcs';

/** prev_hash of the first ledger row. */
export const GENESIS_HASH = '0'.repeat(64);
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Sequence numbers arrive as numbers, bigints or (from PostgreSQL bigint columns) strings. */
export type SeqLike = number | bigint | string;

function toSeq(value: SeqLike, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value >= 1n) return value;
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 1) return BigInt(value);
  } else if (typeof value === 'string' && /^[1-9][0-9]*$/.test(value)) {
    return BigInt(value);
  }
  throw new RangeError(`${name} must be a positive integer (got ${String(value)})`);
}

/** Chain hash of one row; `event` is the full CloudEvent exactly as appended to EVENTS. */
export function chainHash(prevHash: string, streamSeq: SeqLike, event: unknown): string {
  if (typeof prevHash !== 'string' || !HASH_PATTERN.test(prevHash)) {
    throw new TypeError('prevHash must be 64 lower-case hex digits');
  }
  const seq = toSeq(streamSeq, 'streamSeq');
  return createHash('sha256')
    .update(`${prevHash}\n${seq.toString(10)}\n${jcs(event)}`, 'utf8')
    .digest('hex');
}

/** One ledger row as stored. */
export interface LedgerRow {
  /** Ledger sequence number: 1, 2, 3, … without gaps. */
  seq: SeqLike;
  /** EVENTS stream sequence of the event: strictly increasing, gaps allowed. */
  streamSeq: SeqLike;
  event: unknown;
  /** Stored prev_hash, if the row keeps one; checked against the previous row's hash. */
  prevHash?: string;
  hash: string;
}

/** A signed (or otherwise trusted) statement that ledger row `seq` had hash `hash`. */
export interface ChainAnchor {
  seq: SeqLike;
  hash: string;
}

export type ChainProblem =
  | 'seq_gap' // a ledger seq is missing: a row was deleted (or rows are out of order)
  | 'seq_order' // a ledger seq repeats or goes backwards: rows duplicated or reordered
  | 'stream_seq_order' // EVENTS sequence does not increase
  | 'prev_hash_mismatch' // stored prev_hash is not the previous row's hash
  | 'hash_mismatch' // the row's content does not produce its stored hash: edited row
  | 'unhashable' // the stored event is not plain JSON or a seq is malformed
  | 'anchor_mismatch' // a checkpoint names a different hash for this seq
  | 'missing_rows'; // a checkpoint names a seq beyond the last row: the tail was deleted

export type ChainVerification =
  | { ok: true; count: number; lastSeq?: string; lastHash: string }
  | {
      ok: false;
      /** Ledger seq (decimal) of the first row that diverges (for missing_rows: the anchor's seq). */
      seq: string;
      /** Position of that row in the input. */
      index: number;
      problem: ChainProblem;
      expected: string;
      actual: string;
      message: string;
    };

export interface VerifyChainOptions {
  /** Ledger seq of the first row given (default 1). */
  startSeq?: SeqLike;
  /** Hash of the row before the first one given (default GENESIS_HASH). */
  prevHash?: string;
  /** Trusted (seq, hash) pairs, e.g. verified checkpoints, that the rows must agree with. */
  anchors?: readonly ChainAnchor[];
}

/**
 * Recomputes the chain over `rows` (in the order given) and reports the first row that diverges
 * and what differs. Stops at the first problem: everything after it is unverifiable anyway.
 */
export function verifyChain(rows: Iterable<LedgerRow>, options: VerifyChainOptions = {}): ChainVerification {
  const anchors = new Map<string, string>();
  for (const anchor of options.anchors ?? [])
    anchors.set(toSeq(anchor.seq, 'anchor seq').toString(), anchor.hash);

  let expectedSeq = toSeq(options.startSeq ?? 1, 'startSeq');
  let prevHash = options.prevHash ?? GENESIS_HASH;
  let prevStreamSeq = 0n;
  let index = 0;
  let lastSeq: string | undefined;

  const fail = (
    seq: string,
    problem: ChainProblem,
    expected: string,
    actual: string,
    message: string,
  ): ChainVerification => ({
    ok: false,
    seq,
    index,
    problem,
    expected,
    actual,
    message: `ledger seq ${seq}: ${message}`,
  });

  for (const row of rows) {
    let seq: bigint;
    let streamSeq: bigint;
    try {
      seq = toSeq(row.seq, 'seq');
      streamSeq = toSeq(row.streamSeq, 'streamSeq');
    } catch (error) {
      return fail(
        String(row.seq),
        'unhashable',
        'positive integers',
        `${String(row.seq)}/${String(row.streamSeq)}`,
        (error as Error).message,
      );
    }
    const seqText = seq.toString();
    if (seq !== expectedSeq) {
      const problem = seq > expectedSeq ? 'seq_gap' : 'seq_order';
      const what = seq > expectedSeq ? `row(s) missing before it` : 'repeated or out of order';
      return fail(
        seqText,
        problem,
        expectedSeq.toString(),
        seqText,
        `expected seq ${expectedSeq}, found ${seqText}: ${what}`,
      );
    }
    if (streamSeq <= prevStreamSeq) {
      return fail(
        seqText,
        'stream_seq_order',
        `> ${prevStreamSeq}`,
        streamSeq.toString(),
        'EVENTS sequence does not increase',
      );
    }
    if (row.prevHash !== undefined && row.prevHash !== prevHash) {
      return fail(
        seqText,
        'prev_hash_mismatch',
        prevHash,
        String(row.prevHash),
        'prev_hash does not match the previous row',
      );
    }
    let computed: string;
    try {
      computed = chainHash(prevHash, streamSeq, row.event);
    } catch (error) {
      return fail(seqText, 'unhashable', 'a JSON event', typeof row.event, (error as Error).message);
    }
    if (computed !== row.hash) {
      return fail(
        seqText,
        'hash_mismatch',
        computed,
        String(row.hash),
        'stored hash does not match the row content (edited, or an earlier row changed)',
      );
    }
    const anchored = anchors.get(seqText);
    if (anchored !== undefined && anchored !== computed) {
      return fail(
        seqText,
        'anchor_mismatch',
        anchored,
        computed,
        'hash differs from the checkpoint for this seq',
      );
    }
    anchors.delete(seqText);
    prevHash = computed;
    prevStreamSeq = streamSeq;
    lastSeq = seqText;
    expectedSeq = seq + 1n;
    index += 1;
  }

  // Any anchor left at or after the next expected seq names rows we never saw.
  for (const [seq, hash] of anchors) {
    if (BigInt(seq) >= expectedSeq) {
      return fail(
        seq,
        'missing_rows',
        hash,
        'absent',
        `a checkpoint covers seq ${seq} but the rows end at ${lastSeq ?? 'none'}`,
      );
    }
  }
  return { ok: true, count: index, lastSeq, lastHash: prevHash };
}
