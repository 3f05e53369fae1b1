import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Creates `<schema>.projection_checkpoint`: where each projector remembers its last applied sequence. */
export function projectionCheckpointMigration(schema: string, timestamp = 1795300000000): new () => MigrationInterface {
  const name = `ProjectionCheckpoint${timestamp}`;
  return {
    [name]: class implements MigrationInterface {
      name = name;
      async up(q: QueryRunner): Promise<void> {
        await q.query(
          `CREATE TABLE IF NOT EXISTS "${schema}"."projection_checkpoint" (
             "projection" text PRIMARY KEY,
             "last_seq" bigint NOT NULL,
             "updated_at" timestamptz NOT NULL DEFAULT now()
           )`,
        );
      }
      async down(q: QueryRunner): Promise<void> {
        await q.query(`DROP TABLE "${schema}"."projection_checkpoint"`);
      }
    },
  }[name];
}
