import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The pending/resolved approvals read model (deadlines survive restarts) and each agent's freeze state. */
export class CreateApprovals1795300000101 implements MigrationInterface {
  name = 'CreateApprovals1795300000101';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE approvals.approval (
        approval      uuid PRIMARY KEY,
        agent         text NOT NULL,
        session       text NOT NULL,
        status        text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
        decision      text,
        command       text NOT NULL,
        cwd           text NOT NULL,
        mode          text NOT NULL,
        reasons       jsonb NOT NULL,
        rule          text,
        reason        text,
        deadline      timestamptz NOT NULL,
        channel       text,
        conversation  text,
        decider_type  text,
        decider_id    text,
        grant_id      uuid,
        requested_seq bigint NOT NULL,
        last_seq      bigint NOT NULL,
        created_at    timestamptz NOT NULL,
        resolved_at   timestamptz
      )`);
    await q.query(
      `CREATE INDEX approval_pending_deadline_idx ON approvals.approval (deadline) WHERE status = 'pending'`,
    );
    await q.query(`CREATE INDEX approval_session_idx ON approvals.approval (session, created_at DESC)`);
    await q.query(`CREATE INDEX approval_created_idx ON approvals.approval (created_at DESC)`);
    await q.query(`
      CREATE TABLE approvals.agent_freeze (
        agent          text PRIMARY KEY,
        frozen         boolean NOT NULL,
        reason         text,
        event_id       text NOT NULL,
        correlation_id text NOT NULL,
        seq            bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE approvals.agent_freeze');
    await q.query('DROP TABLE approvals.approval');
  }
}
