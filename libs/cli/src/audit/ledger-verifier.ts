// Recomputes the ledger's hash chain from PostgreSQL, cross-checks every entry with the EVENTS stream,
// and verifies every checkpoint signature — checkpoints read from EVENTS (and optionally a file the SOC
// kept), i.e. from outside PostgreSQL, so a self-consistent rewrite of the table's tail still shows.
import type { KeyObject } from 'node:crypto';
import type { Client } from 'pg';
import { chainHash, GENESIS_HASH, jcs, keyIdOf, PalisadeEvent, verifyCheckpoint } from '@palisade/contracts';
import type { EventStore } from '@palisade/event-log';

export interface Divergence {
  seq: number;
  what: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  head?: { seq: number; hash: string };
  eventsInStream: number;
  checkpointsVerified: number;
  problems: Divergence[];
  firstDivergence?: Divergence;
}

export interface CheckpointRecord {
  seq: number;
  hash: string;
  time: string;
  keyid: string;
  signature: string;
  source: string;
}

export async function verifyLedger(options: {
  db: Client;
  store: EventStore;
  publicKey: KeyObject;
  externalCheckpoints?: CheckpointRecord[];
}): Promise<VerifyReport> {
  const { db, store, publicKey } = options;
  const problems: Divergence[] = [];
  const computed = new Map<number, string>(); // ledger seq → recomputed hash (for checkpoints)
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let entries = 0;
  let lastSeq = 0;
  for (let offset = 0; ; offset += 1000) {
    const { rows } = await db.query<{ ledger_seq: string; stream_seq: string; canonical: string; prev_hash: string; hash: string }>(
      'SELECT ledger_seq, stream_seq, canonical, prev_hash, hash FROM ledger.ledger ORDER BY ledger_seq LIMIT 1000 OFFSET $1',
      [offset],
    );
    if (!rows.length) break;
    for (const row of rows) {
      const seq = Number(row.ledger_seq);
      const streamSeq = Number(row.stream_seq);
      entries++;
      if (seq !== expectedSeq) {
        problems.push({ seq: expectedSeq, what: `entry ${expectedSeq} is missing (next entry is ${seq}): rows were deleted` });
      }
      if (streamSeq !== seq) problems.push({ seq, what: `entry records stream sequence ${streamSeq}, expected ${seq}: rows were moved or reordered` });
      if (row.prev_hash !== prev) problems.push({ seq, what: `prev_hash ${row.prev_hash} does not link to the previous entry's hash ${prev}` });
      let event: PalisadeEvent | undefined;
      try {
        event = JSON.parse(row.canonical);
      } catch {
        problems.push({ seq, what: 'stored event is not JSON' });
      }
      const recomputed = event ? chainHash(prev, streamSeq, event) : '';
      if (event && recomputed !== row.hash) problems.push({ seq, what: `stored hash ${row.hash} differs from the recomputed ${recomputed}: the entry was altered` });
      const original = await store.getBySeq(streamSeq).catch(() => undefined);
      if (!original) problems.push({ seq, what: `stream sequence ${streamSeq} is not in EVENTS` });
      else if (event && jcs(original.event) !== row.canonical) {
        problems.push({ seq, what: `entry content differs from EVENTS at sequence ${streamSeq} (${describeDiff(original.event, event)})` });
      }
      // Continue the chain from what the entry *should* hash to, so later checks stay meaningful.
      prev = recomputed || row.hash;
      computed.set(seq, prev);
      expectedSeq = seq + 1;
      lastSeq = seq;
    }
  }

  const eventsInStream = await store.lastSeq();
  // Checkpoints: from EVENTS (outside PostgreSQL), from the ledger's own table, and any the SOC kept.
  const checkpoints: CheckpointRecord[] = [...(options.externalCheckpoints ?? [])];
  for (let seq = 1; ; ) {
    const next = await store.nextOnSubject('evt.ledger.>', seq);
    if (!next) break;
    if (next.event.type === 'ledger.checkpoint.signed') {
      const d = next.event.data as unknown as CheckpointRecord;
      checkpoints.push({ seq: d.seq, hash: d.hash, time: d.time, keyid: d.keyid, signature: d.signature, source: `EVENTS#${next.seq}` });
    }
    seq = next.seq + 1;
  }
  const { rows: stored } = await db.query<{ ledger_seq: string; hash: string; time: string; keyid: string; signature: string }>(
    'SELECT ledger_seq, hash, time, keyid, signature FROM ledger.checkpoint ORDER BY ledger_seq',
  );
  for (const r of stored) {
    checkpoints.push({ seq: Number(r.ledger_seq), hash: r.hash, time: r.time, keyid: r.keyid, signature: r.signature, source: 'ledger.checkpoint' });
  }
  const keyid = keyIdOf(publicKey);
  let checkpointsVerified = 0;
  for (const cp of checkpoints) {
    const payload = { seq: cp.seq, hash: cp.hash, time: cp.time, keyid: cp.keyid };
    if (cp.keyid !== keyid) {
      problems.push({ seq: cp.seq, what: `checkpoint (${cp.source}) was signed by key ${cp.keyid}, not the ledger key ${keyid}` });
      continue;
    }
    if (!verifyCheckpoint(publicKey, payload, cp.signature)) {
      problems.push({ seq: cp.seq, what: `checkpoint (${cp.source}) has an invalid signature` });
      continue;
    }
    const at = computed.get(cp.seq);
    if (at === undefined) {
      if (cp.seq > lastSeq) problems.push({ seq: cp.seq, what: `signed checkpoint (${cp.source}) covers entry ${cp.seq} but the ledger ends at ${lastSeq}: entries were removed` });
      continue;
    }
    if (at !== cp.hash) {
      problems.push({ seq: cp.seq, what: `chain hash at ${cp.seq} is ${at}, the signed checkpoint (${cp.source}) says ${cp.hash}: history before it was rewritten` });
      continue;
    }
    checkpointsVerified++;
  }
  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    entries,
    head: lastSeq ? { seq: lastSeq, hash: computed.get(lastSeq)! } : undefined,
    eventsInStream,
    checkpointsVerified,
    problems,
    firstDivergence: problems[0],
  };
}

function describeDiff(a: PalisadeEvent, b: PalisadeEvent): string {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  const differing = [...fields].filter((k) => jcs((a as never)[k] ?? null) !== jcs((b as never)[k] ?? null));
  return differing.length ? `fields differ: ${differing.join(', ')}` : 'same fields, different encoding';
}
