// The ledger against the real nats-server and PostgreSQL, with the ledger running as its own process.
import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import { chainHash, createEvent, jcs, PalisadeEvent, uuidv7, verifyCheckpoint } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  infraFacts,
  keyFileOf,
  pgPasswordFileOf,
  publicKeyFileOf,
  repoRoot,
  serviceEnv,
  ServiceProcess,
  startServiceProcess,
  waitFor,
  waitHealthy,
} from '@palisade/testing';
import { verifyLedger } from '../../../libs/cli/src/audit/ledger-verifier';

const run = promisify(execFile);

function pg(role: string): Client {
  const f = infraFacts();
  const password = readFileSync(pgPasswordFileOf(role === 'postgres' ? 'postgres' : role), 'utf8').trim();
  return new Client({ host: f.pgHost, port: f.pgPort, database: f.pgDatabase, user: role, password });
}

describe('ledger (real NATS + PostgreSQL, ledger as a process)', () => {
  let ledger: ServiceProcess;
  let admin: NatsConnection;
  let channels: NatsConnection;
  let superuser: Client;
  const publicKey = () => createPublicKey(readFileSync(publicKeyFileOf('ledger-checkpoint'), 'utf8'));

  const chat = (text: string) =>
    createEvent({
      type: 'chat.message.received',
      source: 'channels',
      aggregateId: uuidv7(),
      data: { channel: 'talk-test', conversation: 'room1', sender: 'alice', messageId: uuidv7(), text, level: 'execute' },
      actor: { type: 'sender', id: 'alice' },
      trust: 'untrusted',
    });

  const ledgerHead = async (): Promise<number> => Number((await superuser.query('SELECT coalesce(max(ledger_seq),0) AS s FROM ledger.ledger')).rows[0].s);

  async function appendAndWait(count: number): Promise<{ seqs: number[]; events: PalisadeEvent[] }> {
    const store = new EventStore(channels);
    const seqs: number[] = [];
    const events: PalisadeEvent[] = [];
    for (let i = 0; i < count; i++) {
      const event = chat(`ledger test message ${i} ${uuidv7()}`);
      seqs.push((await store.append(event, 'none')).seq);
      events.push(event);
    }
    const last = seqs[seqs.length - 1];
    await waitFor(`ledger to reach ${last}`, async () => (await ledgerHead()) >= last, 20_000);
    return { seqs, events };
  }

  /** Tampers inside a transaction that is rolled back: the verifier sees it, nobody else ever does. */
  async function whileTampered(tamper: (db: Client) => Promise<void>) {
    await superuser.query('BEGIN');
    try {
      await superuser.query('SET LOCAL session_replication_role = replica'); // disables the triggers
      await tamper(superuser);
      return await verifyLedger({ db: superuser, store: new EventStore(admin), publicKey: publicKey() });
    } finally {
      await superuser.query('ROLLBACK');
    }
  }

  beforeAll(async () => {
    admin = await connectAs('admin');
    channels = await connectAs('channels');
    superuser = pg('postgres');
    await superuser.connect();
    ledger = startServiceProcess(
      'ledger',
      serviceEnv('ledger', {
        PALISADE_LEDGER_KEY_FILE: keyFileOf('ledger-checkpoint'),
        PALISADE_LEDGER_CHECKPOINT_EVERY: '5',
        PALISADE_LEDGER_CHECKPOINT_SECONDS: '2',
      }),
    );
    await waitHealthy(admin, 'ledger');
  });

  afterAll(async () => {
    await ledger?.stop();
    await superuser?.end();
    await admin?.close();
    await channels?.close();
  });

  test('records every event in stream order with the contracts hash chain', async () => {
    const { seqs, events } = await appendAndWait(3);
    const { rows } = await superuser.query('SELECT ledger_seq, stream_seq, canonical, prev_hash, hash FROM ledger.ledger WHERE ledger_seq = ANY($1) ORDER BY ledger_seq', [seqs]);
    expect(rows.map((r) => Number(r.stream_seq))).toEqual(seqs);
    rows.forEach((row, i) => {
      expect(row.canonical).toBe(jcs(events[i]));
      expect(row.hash).toBe(chainHash(row.prev_hash, seqs[i], events[i]));
    });
    const prev = await superuser.query('SELECT hash FROM ledger.ledger WHERE ledger_seq = $1', [seqs[0] - 1]);
    if (seqs[0] > 1) expect(rows[0].prev_hash).toBe(prev.rows[0].hash);
  });

  test('`palisade audit verify` passes on the untouched ledger', async () => {
    await appendAndWait(1);
    const { stdout } = await run(process.execPath, [join(repoRoot(), 'bin', 'palisade.js'), 'audit', 'verify'], { env: { ...process.env } });
    expect(stdout).toMatch(/^ledger OK: \d+ entries/);
  });

  test('only the ledger role inserts; nobody updates, deletes or truncates', async () => {
    await appendAndWait(1);
    const writer = pg('palisade_ledger');
    await writer.connect();
    try {
      await expect(writer.query("UPDATE ledger.ledger SET canonical = 'x' WHERE ledger_seq = 1")).rejects.toThrow(/permission denied/);
      await expect(writer.query('DELETE FROM ledger.ledger WHERE ledger_seq = 1')).rejects.toThrow(/permission denied/);
      await expect(writer.query('TRUNCATE ledger.ledger')).rejects.toThrow(/permission denied/);
    } finally {
      await writer.end();
    }
    for (const role of ['palisade_gateway', 'palisade_auditor']) {
      const other = pg(role);
      await other.connect();
      try {
        await expect(
          other.query("INSERT INTO ledger.ledger VALUES (999999999, 999999999, 'x', 'x', 'x', '{}', repeat('0',64), repeat('0',64))"),
        ).rejects.toThrow(/permission denied/);
      } finally {
        await other.end();
      }
    }
    // Even the superuser is stopped by the triggers unless it disables them.
    await expect(superuser.query("UPDATE ledger.ledger SET canonical = 'x' WHERE ledger_seq = 1")).rejects.toThrow(/append-only/);
    await expect(superuser.query('DELETE FROM ledger.ledger WHERE ledger_seq = 1')).rejects.toThrow(/append-only/);
    await expect(superuser.query('TRUNCATE ledger.ledger')).rejects.toThrow(/append-only/);
  });

  test('a row altered by a superuser with triggers disabled is detected and located', async () => {
    const { seqs } = await appendAndWait(3);
    const target = seqs[1];
    const report = await whileTampered(async (db) => {
      await db.query(`UPDATE ledger.ledger SET canonical = replace(canonical, 'ledger test message', 'LEDGER TEST MESSAGE') WHERE ledger_seq = $1`, [target]);
    });
    expect(report.ok).toBe(false);
    expect(report.firstDivergence?.seq).toBe(target);
    expect(report.problems.filter((p) => p.seq === target).map((p) => p.what).join('\n')).toMatch(/altered|differs from EVENTS/);
  });

  test('a deleted row is detected and located', async () => {
    const { seqs } = await appendAndWait(3);
    const report = await whileTampered(async (db) => {
      await db.query('DELETE FROM ledger.ledger WHERE ledger_seq = $1', [seqs[1]]);
    });
    expect(report.firstDivergence).toEqual({ seq: seqs[1], what: expect.stringMatching(/missing/) });
  });

  test('reordered rows are detected and located', async () => {
    const { seqs } = await appendAndWait(3);
    const [a, b] = [seqs[0], seqs[1]];
    const report = await whileTampered(async (db) => {
      // Swap the two entries' positions (through a parking slot: unique keys are checked per row).
      await db.query('UPDATE ledger.ledger SET ledger_seq = 4611686018427387904 WHERE ledger_seq = $1', [a]);
      await db.query('UPDATE ledger.ledger SET ledger_seq = $1 WHERE ledger_seq = $2', [a, b]);
      await db.query('UPDATE ledger.ledger SET ledger_seq = $1 WHERE ledger_seq = 4611686018427387904', [b]);
    });
    expect(report.ok).toBe(false);
    expect(report.firstDivergence?.seq).toBe(a);
  });

  test('a self-consistent rewrite of the tail is caught by the checkpoints held outside PostgreSQL', async () => {
    const { seqs } = await appendAndWait(6); // the ledger signs every 5 entries
    const gateway = await connectAs('gateway');
    const signed = await new NatsRpcClient(gateway, 10_000).request<{ seq: number; hash: string }>('cmd.ledger.checkpoint', {});
    await gateway.close();
    expect(signed === null || signed.seq >= seqs[seqs.length - 1]).toBe(true);
    const from = seqs[2];
    let lastRewritten = 0;
    const report = await whileTampered(async (db) => {
      // Rewrite every entry from `from` to the head with altered content and a freshly computed chain:
      // in PostgreSQL alone the result is perfectly consistent.
      const { rows } = await db.query('SELECT ledger_seq, stream_seq, canonical FROM ledger.ledger WHERE ledger_seq >= $1 ORDER BY ledger_seq', [from]);
      let prev = (await db.query('SELECT hash FROM ledger.ledger WHERE ledger_seq = $1', [from - 1])).rows[0].hash;
      for (const row of rows) {
        const event = JSON.parse(row.canonical);
        if (event.type === 'chat.message.received') event.data.text = 'rewritten history';
        const hash = chainHash(prev, Number(row.stream_seq), event);
        await db.query('UPDATE ledger.ledger SET canonical = $2, prev_hash = $3, hash = $4 WHERE ledger_seq = $1', [row.ledger_seq, jcs(event), prev, hash]);
        prev = hash;
        lastRewritten = Number(row.ledger_seq);
      }
    });
    expect(report.ok).toBe(false);
    // Within the rewritten range the chain inside PostgreSQL links up: no "altered" / "does not link" finding…
    // (rows the live ledger appends afterwards still link to the original head and are rightly flagged)
    expect(report.problems.some((p) => p.seq <= lastRewritten && /altered|does not link/.test(p.what))).toBe(false);
    // …but the signed checkpoints (from EVENTS, not PostgreSQL) no longer match, and EVENTS disagrees.
    expect(report.problems.some((p) => /signed checkpoint .*history before it was rewritten/.test(p.what))).toBe(true);
    expect(report.firstDivergence?.seq).toBe(from);
  });

  test('checkpoints are signed with the published key and appear on audit.checkpoint', async () => {
    const soc = await connectAs('soc');
    const sub = soc.subscribe('audit.checkpoint');
    await soc.flush();
    await appendAndWait(1);
    const gateway = await connectAs('gateway');
    const signed = await new NatsRpcClient(gateway, 10_000).request<{ seq: number; hash: string; time: string; keyid: string; signature: string }>('cmd.ledger.checkpoint', {});
    await gateway.close();
    expect(signed).not.toBeNull();
    const { seq, hash, time, keyid, signature } = signed;
    expect(verifyCheckpoint(publicKey(), { seq, hash, time, keyid }, signature)).toBe(true);
    const { stdout } = await run(process.execPath, [join(repoRoot(), 'bin', 'palisade.js'), 'audit', 'pubkey']);
    expect(stdout).toContain(`keyid ${keyid}`);
    const onFeed = await waitFor('audit.checkpoint', async () => {
      for await (const msg of sub) {
        const event = msg.json<PalisadeEvent<{ seq: number; signature: string }>>();
        if (event.data.seq === seq) return event;
      }
      return undefined;
    });
    expect(onFeed.data.signature).toBe(signature);
    await soc.close();
  });

  test('the SOC feed carries every event with ledgerseq/ledgerhash and never the chat text', async () => {
    const soc = await connectAs('soc');
    const received: string[] = [];
    const sub = soc.subscribe('audit.>');
    const done = (async () => {
      for await (const msg of sub) received.push(msg.string());
    })();
    await soc.flush();
    const marker = `MARKER-${uuidv7()}`;
    const { events } = await appendAndWait(1).then(async () => {
      const store = new EventStore(channels);
      const event = chat(`the secret word is ${marker}`);
      const { seq } = await store.append(event, 'none');
      await waitFor('ledger', async () => (await ledgerHead()) >= seq);
      return { events: [event] };
    });
    const record = await waitFor('audit record', () => received.map((r) => JSON.parse(r)).find((r) => r.id === events[0].id));
    expect(record.type).toBe('chat.message.received');
    expect(record.ledgerseq).toMatch(/^\d+$/);
    expect(record.ledgerhash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(record.data.text)).toMatch(/sha256/);
    sub.unsubscribe();
    await done;
    expect(received.join('\n')).not.toContain(marker);
    await soc.close();
  });
});
