// Projector against real NATS and PostgreSQL, on scratch streams (never EVENTS: the malformed messages
// here would halt the ledger) and a scratch schema, all created as admin / postgres and dropped after.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { createEvent, uuidv7 } from '@palisade/contracts';
import { connectAs, infraFacts, pgPasswordFileOf, waitFor } from '@palisade/testing';
import { createDataSource } from './database';
import { EventLogError, EventLogErrorCode } from './event-log.errors';
import { EventStore } from './event-store';
import { ProjectionHandler, Projector } from './projector';

const rand = () => randomBytes(4).toString('hex');
const password = () => readFileSync(pgPasswordFileOf('postgres'), 'utf8').trim();

interface Scratch {
  stream: string;
  prefix: string;
  store: EventStore;
  /** Publishes a valid chat.message.received for `session` raw on the scratch stream; returns its seq. */
  publish(session: string): Promise<number>;
  publishRaw(subject: string, body: string): Promise<number>;
  durable(name?: string): Promise<string>;
}

describe('Projector (scratch stream + scratch schema)', () => {
  let admin: NatsConnection;
  let superuser: Client;
  let db: DataSource;
  const schema = `evlog_${rand()}`;
  const streams: string[] = [];
  const projectors: Projector[] = [];
  const logs: string[] = [];

  async function scratch(): Promise<Scratch> {
    const id = rand();
    const stream = `TEVT_${id}`;
    const prefix = `tevt${id}`;
    const jsm = await jetstreamManager(admin);
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: 60 * 1_000_000_000,
    });
    streams.push(stream);
    const js = jetstream(admin);
    const publishRaw = async (subject: string, body: string) => (await js.publish(subject, body)).seq;
    return {
      stream,
      prefix,
      store: new EventStore(admin, { stream }),
      publishRaw,
      publish: (session) =>
        publishRaw(
          `${prefix}.session.${session}`,
          JSON.stringify(
            createEvent({
              type: 'chat.message.received',
              source: 'channels',
              aggregateId: session,
              data: { channel: 'talk-test', conversation: 'projector', sender: 'bob', messageId: uuidv7(), text: 'count me', level: 'execute' },
              actor: { type: 'sender', id: 'bob' },
              trust: 'untrusted',
            }),
          ),
        ),
      durable: async (name = `d_${rand()}`) => {
        await jsm.consumers.add(stream, {
          durable_name: name,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: 30 * 1_000_000_000,
          max_ack_pending: 1000,
          max_deliver: -1,
        });
        return name;
      },
    };
  }

  /** A read model: messages per session, in its own table. */
  async function countingTable(): Promise<{ table: string; handler: ProjectionHandler; counts: () => Promise<Record<string, number>> }> {
    const table = `counts_${rand()}`;
    await superuser.query(`CREATE TABLE "${schema}"."${table}" (aggregate text PRIMARY KEY, n integer NOT NULL)`);
    const handler: ProjectionHandler = {
      types: ['chat.message.received'],
      apply: async (event, _seq, tx: EntityManager) => {
        await tx.query(
          `INSERT INTO "${schema}"."${table}" (aggregate, n) VALUES ($1, 1) ON CONFLICT (aggregate) DO UPDATE SET n = "${table}".n + 1`,
          [event.subject],
        );
      },
      reset: async (tx) => {
        await tx.query(`DELETE FROM "${schema}"."${table}"`);
      },
    };
    const counts = async () => {
      const { rows } = await superuser.query(`SELECT aggregate, n FROM "${schema}"."${table}"`);
      return Object.fromEntries(rows.map((r) => [r.aggregate, Number(r.n)]));
    };
    return { table, handler, counts };
  }

  function projector(s: Scratch, name: string, durable: string, handler: ProjectionHandler, batchSize?: number): Projector {
    const p = new Projector(admin, db, s.store, {
      name,
      durable,
      stream: s.stream,
      schema,
      handlers: [handler],
      batchSize,
      log: (m) => logs.push(m),
    });
    projectors.push(p);
    return p;
  }

  /** Publishes `perSession` messages for each of `sessions`, returns the expected counts and last seq. */
  async function publishMany(s: Scratch, sessions: string[], perSession: number, expected: Record<string, number> = {}) {
    let last = 0;
    for (let i = 0; i < perSession; i++) {
      for (const session of sessions) {
        last = await s.publish(session);
        expected[session] = (expected[session] ?? 0) + 1;
      }
    }
    return { expected, last };
  }

  const checkpointOf = async (name: string) =>
    Number((await superuser.query(`SELECT last_seq FROM "${schema}".projection_checkpoint WHERE projection = $1`, [name])).rows[0]?.last_seq ?? 0);

  beforeAll(async () => {
    admin = await connectAs('admin');
    const f = infraFacts();
    superuser = new Client({ host: f.pgHost, port: f.pgPort, database: f.pgDatabase, user: 'postgres', password: password() });
    await superuser.connect();
    await superuser.query(`CREATE SCHEMA "${schema}"`);
    await superuser.query(
      `CREATE TABLE "${schema}".projection_checkpoint (projection text PRIMARY KEY, last_seq bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    db = createDataSource({ host: f.pgHost, port: f.pgPort, database: f.pgDatabase, user: 'postgres', password: password() }, schema);
    await db.initialize();
  });

  afterEach(async () => {
    for (const p of projectors.splice(0)) await p.stop();
  });

  afterAll(async () => {
    for (const p of projectors.splice(0)) await p.stop();
    if (admin) {
      const jsm = await jetstreamManager(admin);
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
      await admin.close();
    }
    await db?.destroy();
    await superuser?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await superuser?.end();
  });

  test('(a) catches up from an existing backlog on start', async () => {
    const s = await scratch();
    const sessions = [uuidv7(), uuidv7(), uuidv7()];
    const { expected, last } = await publishMany(s, sessions, 40); // 120 messages, more than one batch
    const { handler, counts } = await countingTable();
    const p = projector(s, 'a', await s.durable(), handler, 25);
    await p.start();
    await p.waitFor(last);
    expect(await counts()).toEqual(expected);
    expect(await checkpointOf('a')).toBe(last);
    // …and keeps following live messages after the backlog.
    const more = await publishMany(s, sessions, 2, expected);
    await p.waitFor(more.last);
    expect(await counts()).toEqual(more.expected);
  });

  test('(b) resumable: a new instance continues from the checkpoint without double counting', async () => {
    const s = await scratch();
    const sessions = [uuidv7(), uuidv7()];
    const { handler, counts } = await countingTable();
    const durable = await s.durable();
    const first = await publishMany(s, sessions, 10);
    const p1 = projector(s, 'b', durable, handler);
    await p1.start();
    await p1.waitFor(first.last);
    await p1.stop();
    expect(await checkpointOf('b')).toBe(first.last);

    const second = await publishMany(s, sessions, 7, { ...first.expected });
    await new Promise((r) => setTimeout(r, 200));
    expect(await counts()).toEqual(first.expected); // stopped: nothing applied meanwhile

    const p2 = projector(s, 'b', durable, handler);
    await p2.start();
    expect(p2.position).toBe(first.last); // read from the checkpoint row
    await p2.waitFor(second.last);
    expect(await counts()).toEqual(second.expected);
    expect(await checkpointOf('b')).toBe(second.last);
  });

  test('(c) idempotent: redelivery and concurrent instances over the same data change nothing', async () => {
    const s = await scratch();
    const sessions = [uuidv7(), uuidv7(), uuidv7()];
    const { handler, counts } = await countingTable();
    const backlog = await publishMany(s, sessions, 20);
    // Two instances of the same projection, each with its own durable (so each gets every message), at once.
    const p1 = projector(s, 'c', await s.durable(), handler, 7);
    const p2 = projector(s, 'c', await s.durable(), handler, 11);
    await Promise.all([p1.start(), p2.start()]);
    const live = await publishMany(s, sessions, 10, { ...backlog.expected });
    await Promise.all([p1.waitFor(live.last), p2.waitFor(live.last)]);
    expect(await counts()).toEqual(live.expected);

    // A third instance on yet another durable: the whole stream is delivered again, nothing changes.
    const redelivery = await s.durable();
    const p3 = projector(s, 'c', redelivery, handler);
    await p3.start();
    await waitFor('full redelivery acknowledged', async () => {
      const info = await (await jetstreamManager(admin)).consumers.info(s.stream, redelivery);
      return info.ack_floor.stream_seq >= live.last && info.num_ack_pending === 0;
    });
    expect(await counts()).toEqual(live.expected);
    expect(await checkpointOf('c')).toBe(live.last);
  });

  test('(d) PostgreSQL failure: transactions fail, then it catches up with correct counts', async () => {
    const s = await scratch();
    const sessions = [uuidv7(), uuidv7()];
    const { table, handler, counts } = await countingTable();
    const p = projector(s, 'd', await s.durable(), handler);
    const before = await publishMany(s, sessions, 5);
    await p.start();
    await p.waitFor(before.last);

    await superuser.query(`ALTER TABLE "${schema}"."${table}" RENAME TO "${table}_away"`);
    const logged = logs.length;
    const during = await publishMany(s, sessions, 6, { ...before.expected });
    await waitFor('a failed transaction to be logged', () => logs.slice(logged).some((m) => /does not exist/.test(m)));
    await new Promise((r) => setTimeout(r, 300));
    expect(p.position).toBe(before.last); // nothing committed while the table is gone
    expect(await checkpointOf('d')).toBe(before.last);
    expect(p.halted).toBeUndefined();

    await superuser.query(`ALTER TABLE "${schema}"."${table}_away" RENAME TO "${table}"`);
    const after = await publishMany(s, sessions, 2, { ...during.expected });
    await p.waitFor(after.last, 20_000);
    expect(await counts()).toEqual(after.expected);
  });

  test('(e) rebuild(): the read model is identical after a rebuild from scratch', async () => {
    const s = await scratch();
    const sessions = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    const { table, handler, counts } = await countingTable();
    const durable = await s.durable();
    const { expected, last } = await publishMany(s, sessions, 15);
    const p = projector(s, 'e', durable, handler, 16);
    await p.start();
    await p.waitFor(last);
    const built = await counts();
    expect(built).toEqual(expected);
    await p.stop();

    // Damage the read model, then rebuild with a fresh instance.
    await superuser.query(`UPDATE "${schema}"."${table}" SET n = n + 100`);
    await superuser.query(`INSERT INTO "${schema}"."${table}" VALUES ('stray', 1)`);
    const r = projector(s, 'e', durable, handler, 16);
    await r.rebuild();
    expect(r.position).toBe(last);
    expect(await counts()).toEqual(built);
    expect(await checkpointOf('e')).toBe(last);
  });

  test('(f) a message that is not JSON halts it naming the sequence; nothing after it is applied', async () => {
    const s = await scratch();
    const session = uuidv7();
    const { handler, counts } = await countingTable();
    const good = await publishMany(s, [session], 3);
    const badSeq = await s.publishRaw(`${s.prefix}.session.${session}`, 'this is {not json');
    await publishMany(s, [session], 2);
    const halts: EventLogError[] = [];
    const p = new Projector(admin, db, s.store, {
      name: 'f1',
      durable: await s.durable(),
      stream: s.stream,
      schema,
      handlers: [handler],
      // A catch-up batch is parsed as a whole before anything is written, so with larger batches the
      // good events sharing a batch with the bad one are not applied either; batch size 1 stops exactly before it.
      batchSize: 1,
      onHalt: (e) => halts.push(e),
      log: (m) => logs.push(m),
    });
    projectors.push(p);
    await p.start();
    await waitFor('the projector to halt', () => p.halted);
    expect(p.halted).toBeInstanceOf(EventLogError);
    expect(p.halted!.code).toBe(EventLogErrorCode.Corrupt);
    expect(p.halted!.message).toContain(`stream sequence ${badSeq}`);
    expect(p.halted!.details).toEqual({ seq: badSeq });
    expect(halts).toEqual([p.halted]);
    await expect(p.waitFor(badSeq + 2, 1_000)).rejects.toBe(p.halted);
    expect(p.position).toBe(good.last);
    expect(await counts()).toEqual({ [session]: 3 });
    expect(await checkpointOf('f1')).toBe(good.last);
  });

  test('(f) an invalid CloudEvent arriving live halts it naming the sequence', async () => {
    const s = await scratch();
    const session = uuidv7();
    const { handler, counts } = await countingTable();
    const p = projector(s, 'f2', await s.durable(), handler);
    await p.start();
    const good = await publishMany(s, [session], 2);
    await p.waitFor(good.last);
    const invalid = JSON.stringify({ specversion: '1.0', id: 'not-a-uuid', type: 'chat.message.received', subject: session, data: { text: 1 } });
    const badSeq = await s.publishRaw(`${s.prefix}.session.${session}`, invalid);
    await publishMany(s, [session], 3);
    await waitFor('the projector to halt', () => p.halted);
    expect(p.halted!.code).toBe('corrupt');
    expect(p.halted!.message).toMatch(new RegExp(`event at stream sequence ${badSeq} is invalid`));
    await new Promise((r) => setTimeout(r, 300));
    expect(p.position).toBe(good.last);
    expect(await counts()).toEqual({ [session]: 2 });
  });
});
