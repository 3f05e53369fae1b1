import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The cron read model: jobs (projected from EVENTS), the agent's freeze state (projected), and the
 * creation admissions the rate limit counts (written by cron itself before each create is appended,
 * so the limit holds across restarts and replicas even while the projection lags).
 */
export class CreateCronJobs1795300000031 implements MigrationInterface {
  name = 'CreateCronJobs1795300000031';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cron.job (
        job                 text PRIMARY KEY,
        name                text,
        kind                text NOT NULL,
        expr                text NOT NULL,
        tz                  text,
        session             text NOT NULL,
        prompt              text,
        system              boolean NOT NULL,
        trust               text NOT NULL,
        creator_type        text NOT NULL,
        creator_id          text NOT NULL,
        definition_event_id text NOT NULL,
        created_at          timestamptz NOT NULL,
        defined_at          timestamptz NOT NULL,
        version             bigint NOT NULL,
        next_run_at         timestamptz,
        last_scheduled_at   timestamptz,
        last_fired_at       timestamptz,
        removed_at          timestamptz
      )`);
    await q.query(
      'CREATE INDEX job_due_idx ON cron.job (next_run_at) WHERE removed_at IS NULL AND next_run_at IS NOT NULL',
    );
    await q.query(`
      CREATE TABLE cron.agent_state (
        agent      text PRIMARY KEY,
        frozen     boolean NOT NULL,
        changed_at timestamptz NOT NULL,
        version    bigint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE cron.creation (
        job          text PRIMARY KEY,
        creator_type text NOT NULL,
        creator_id   text NOT NULL,
        at           timestamptz NOT NULL
      )`);
    await q.query('CREATE INDEX creation_at_idx ON cron.creation (at)');
    await q.query('CREATE INDEX creation_creator_at_idx ON cron.creation (creator_type, creator_id, at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE cron.creation');
    await q.query('DROP TABLE cron.agent_state');
    await q.query('DROP TABLE cron.job');
  }
}
