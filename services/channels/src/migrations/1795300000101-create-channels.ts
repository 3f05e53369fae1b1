import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - sender: admission read model (projected from evt.sender.*), for cmd.channels.senders.list;
 * - outbox: replies to deliver (projected from chat.message.sent and channel.sender.pending), with
 *   their delivery state, so a reply goes out once across restarts and replicas;
 * - webhook_seen: replay guard (webhook randoms and message ids already accepted), shared by replicas.
 */
export class CreateChannels1795300000101 implements MigrationInterface {
  name = 'CreateChannels1795300000101';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channels.sender (
        channel      text NOT NULL,
        sender       text NOT NULL,
        sender_name  text,
        status       text NOT NULL CHECK (status IN ('pending', 'admitted', 'rejected')),
        level        text,
        last_seq     bigint NOT NULL,
        updated_at   timestamptz NOT NULL,
        CONSTRAINT sender_pkey PRIMARY KEY (channel, sender)
      )`);
    await q.query(`CREATE INDEX sender_status_idx ON channels.sender (status, channel)`);
    await q.query(`
      CREATE TABLE channels.outbox (
        event_id     text PRIMARY KEY,
        seq          bigint NOT NULL,
        channel      text NOT NULL,
        conversation text NOT NULL,
        text         text NOT NULL,
        in_reply_to  text,
        correlation_id text NOT NULL,
        event_time   timestamptz NOT NULL,
        status       text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired', 'unknown')),
        parts_sent   integer NOT NULL DEFAULT 0,
        attempts     integer NOT NULL DEFAULT 0,
        last_error   text,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT outbox_seq_key UNIQUE (seq)
      )`);
    await q.query(
      `CREATE INDEX outbox_open_idx ON channels.outbox (channel, seq) WHERE status IN ('pending', 'sending')`,
    );
    await q.query(`
      CREATE TABLE channels.webhook_seen (
        channel  text NOT NULL,
        key      text NOT NULL,
        seen_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_seen_pkey PRIMARY KEY (channel, key)
      )`);
    await q.query(`CREATE INDEX webhook_seen_at_idx ON channels.webhook_seen (seen_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE channels.webhook_seen`);
    await q.query(`DROP TABLE channels.outbox`);
    await q.query(`DROP TABLE channels.sender`);
  }
}
