import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hash-chained ledger. Append-only three ways: only palisade_ledger may INSERT; nobody is granted
 * UPDATE, DELETE or TRUNCATE; and triggers raise on each of them even for the owner. A superuser can
 * still disable triggers — which is why `palisade audit verify` also checks the chain against EVENTS and
 * against signed checkpoints held outside PostgreSQL.
 */
export class CreateLedger1795300000001 implements MigrationInterface {
  name = 'CreateLedger1795300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledger.ledger (
        ledger_seq   bigint PRIMARY KEY CHECK (ledger_seq > 0),
        stream_seq   bigint NOT NULL,
        event_id     text NOT NULL,
        event_type   text NOT NULL,
        aggregate_id text NOT NULL,
        canonical    text NOT NULL,
        prev_hash    char(64) NOT NULL,
        hash         char(64) NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ledger_stream_seq_key UNIQUE (stream_seq),
        CONSTRAINT ledger_event_id_key UNIQUE (event_id)
      )`);
    await q.query(`
      CREATE TABLE ledger.checkpoint (
        ledger_seq bigint PRIMARY KEY,
        hash       char(64) NOT NULL,
        time       text NOT NULL,
        keyid      char(64) NOT NULL,
        signature  text NOT NULL,
        payload    text NOT NULL
      )`);
    await q.query(`
      CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
      END $$`);
    for (const table of ['ledger', 'checkpoint']) {
      await q.query(`CREATE TRIGGER ${table}_no_change BEFORE UPDATE OR DELETE ON ledger.${table} FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()`);
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ledger.${table} FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()`);
      await q.query(`REVOKE ALL ON ledger.${table} FROM PUBLIC`);
      await q.query(`GRANT SELECT, INSERT ON ledger.${table} TO palisade_ledger`);
      await q.query(`GRANT SELECT ON ledger.${table} TO palisade_auditor`);
    }
  }

  async down(): Promise<void> {
    throw new Error('the ledger is never dropped by a migration');
  }
}
