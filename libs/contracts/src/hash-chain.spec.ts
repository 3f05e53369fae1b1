import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainHash, GENESIS_HASH, type LedgerRow, verifyChain } from './hash-chain';
import { jcs } from './jcs';
import { validateEvent } from './validate-event';

interface VectorRow {
  seq: number;
  streamSeq: number;
  prevHash: string;
  jcs: string;
  event: Record<string, unknown> & { data: Record<string, unknown> };
  hash: string;
}
const vectors = JSON.parse(readFileSync(join(__dirname, '../test-vectors/hash-chain.json'), 'utf8')) as {
  genesisHash: string;
  rows: VectorRow[];
  bigStreamSeq: { prevHash: string; streamSeq: string; eventIndex: number; hash: string };
};

const rows = (): LedgerRow[] =>
  vectors.rows.map((r) =>
    structuredClone({
      seq: r.seq,
      streamSeq: r.streamSeq,
      prevHash: r.prevHash,
      event: r.event,
      hash: r.hash,
    }),
  );

describe('hash chain test vectors (computed independently in Python)', () => {
  it('has the documented genesis hash', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(vectors.genesisHash).toBe(GENESIS_HASH);
  });

  it.each(vectors.rows.map((r) => [r.seq, r]))('row %i: JCS and hash reproduce', (_seq, row) => {
    expect(jcs(row.event)).toBe(row.jcs);
    expect(chainHash(row.prevHash, row.streamSeq, row.event)).toBe(row.hash);
    expect(chainHash(row.prevHash, BigInt(row.streamSeq), row.event)).toBe(row.hash);
  });

  it('vector events are valid events (the vectors exercise the real contract)', () => {
    for (const row of vectors.rows) expect(() => validateEvent(row.event)).not.toThrow();
  });

  it('hashes a stream sequence beyond 2^53 by its exact digits', () => {
    const big = vectors.bigStreamSeq;
    const event = vectors.rows[big.eventIndex].event;
    expect(chainHash(big.prevHash, BigInt(big.streamSeq), event)).toBe(big.hash);
    expect(chainHash(big.prevHash, big.streamSeq, event)).toBe(big.hash);
    expect(() => chainHash(big.prevHash, Number.MAX_SAFE_INTEGER + 2, event)).toThrow(RangeError);
  });

  it('refuses malformed inputs', () => {
    const event = vectors.rows[0].event;
    expect(() => chainHash('abc', 1, event)).toThrow(TypeError);
    expect(() => chainHash(GENESIS_HASH, 0, event)).toThrow(RangeError);
    expect(() => chainHash(GENESIS_HASH, 1.5, event)).toThrow(RangeError);
    expect(() => chainHash(GENESIS_HASH, 1, { a: undefined })).toThrow();
  });
});

describe('verifyChain', () => {
  it('accepts the vector chain', () => {
    expect(verifyChain(rows())).toEqual({ ok: true, count: 3, lastSeq: '3', lastHash: vectors.rows[2].hash });
    expect(verifyChain([])).toEqual({ ok: true, count: 0, lastSeq: undefined, lastHash: GENESIS_HASH });
  });

  it('accepts string sequence numbers (PostgreSQL bigint) and a partial range', () => {
    const r = rows().map((row) => ({ ...row, seq: String(row.seq), streamSeq: String(row.streamSeq) }));
    expect(verifyChain(r.slice(1), { startSeq: 2, prevHash: vectors.rows[0].hash }).ok).toBe(true);
  });

  it('locates an edited row', () => {
    const r = rows();
    (r[1].event as { data: { command: string } }).data.command = 'rm -rf /';
    const result = verifyChain(r);
    expect(result).toMatchObject({
      ok: false,
      seq: '2',
      index: 1,
      problem: 'hash_mismatch',
      actual: vectors.rows[1].hash,
    });
  });

  it('locates an edited row even if the attacker recomputed its hash (next link breaks)', () => {
    const r = rows();
    (r[0].event as { data: { text: string } }).data.text = 'forged';
    r[0].hash = chainHash(GENESIS_HASH, 1, r[0].event);
    expect(verifyChain(r)).toMatchObject({ ok: false, seq: '2', problem: 'prev_hash_mismatch' });
    delete r[1].prevHash;
    expect(verifyChain(r)).toMatchObject({ ok: false, seq: '2', problem: 'hash_mismatch' });
  });

  it('locates a deleted row', () => {
    const r = rows();
    r.splice(1, 1);
    expect(verifyChain(r)).toMatchObject({
      ok: false,
      seq: '3',
      index: 1,
      problem: 'seq_gap',
      expected: '2',
      actual: '3',
    });
  });

  it('locates a deleted row whose successors were renumbered', () => {
    const r = rows();
    r.splice(1, 1);
    r[1].seq = 2;
    expect(verifyChain(r)).toMatchObject({ ok: false, seq: '2', problem: 'prev_hash_mismatch' });
  });

  it('locates reordered rows', () => {
    const r = rows();
    [r[1], r[2]] = [r[2], r[1]];
    expect(verifyChain(r)).toMatchObject({ ok: false, seq: '3', index: 1, problem: 'seq_gap' });
    // Same order of seq numbers, contents swapped:
    const s = rows();
    [s[1].event, s[2].event] = [s[2].event, s[1].event];
    expect(verifyChain(s)).toMatchObject({ ok: false, seq: '2', problem: 'hash_mismatch' });
  });

  it('locates a duplicated row and a non-increasing stream sequence', () => {
    const r = rows();
    r.splice(2, 0, structuredClone(r[1]));
    expect(verifyChain(r)).toMatchObject({ ok: false, seq: '2', index: 2, problem: 'seq_order' });
    const s = rows();
    s[2].streamSeq = 2;
    expect(verifyChain(s)).toMatchObject({ ok: false, seq: '3', problem: 'stream_seq_order' });
  });

  it('detects a truncated tail against a checkpoint anchor, and a disagreeing anchor', () => {
    const anchors = [{ seq: 3, hash: vectors.rows[2].hash }];
    expect(verifyChain(rows(), { anchors }).ok).toBe(true);
    expect(verifyChain(rows().slice(0, 2), { anchors })).toMatchObject({
      ok: false,
      seq: '3',
      problem: 'missing_rows',
    });
    expect(verifyChain(rows(), { anchors: [{ seq: 2, hash: 'ff'.repeat(32) }] })).toMatchObject({
      ok: false,
      seq: '2',
      problem: 'anchor_mismatch',
    });
  });

  it('reports an unhashable row', () => {
    const r = rows();
    r[0].event = { bad: NaN };
    expect(verifyChain(r)).toMatchObject({ ok: false, seq: '1', problem: 'unhashable' });
  });
});
