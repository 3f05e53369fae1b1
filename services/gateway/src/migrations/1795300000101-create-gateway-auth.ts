import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Gateway authentication state shared by every gateway replica and the `palisade` CLI: the operator
 * credential, server-side sessions, API keys and the login throttle. Secrets are never stored: the
 * password as Argon2id, session tokens and API keys as salted/unsalted SHA-256 digests.
 * Revocations are announced with NOTIFY so replicas close affected WebSockets at once.
 */
export class CreateGatewayAuth1795300000101 implements MigrationInterface {
  name = 'CreateGatewayAuth1795300000101';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.operator_credential (
        id            smallint PRIMARY KEY CHECK (id = 1),
        user_name     text NOT NULL,
        password_hash text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE gateway.operator_session (
        token_hash   char(64) PRIMARY KEY,
        id           uuid NOT NULL UNIQUE,
        user_name    text NOT NULL,
        scopes       text[] NOT NULL,
        remote       text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX operator_session_expires_idx ON gateway.operator_session (expires_at)`);
    await q.query(`
      CREATE TABLE gateway.api_key (
        id            uuid PRIMARY KEY,
        label         text NOT NULL,
        lookup_prefix text NOT NULL,
        salt          bytea NOT NULL,
        key_hash      bytea NOT NULL,
        scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0),
        created_by    text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_used_at  timestamptz,
        revoked_at    timestamptz,
        revoke_reason text
      )`);
    await q.query(`CREATE INDEX api_key_lookup_prefix_idx ON gateway.api_key (lookup_prefix)`);
    await q.query(`
      CREATE TABLE gateway.login_throttle (
        remote       text PRIMARY KEY,
        failures     integer NOT NULL DEFAULT 0,
        lockouts     integer NOT NULL DEFAULT 0,
        locked_until timestamptz,
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['login_throttle', 'api_key', 'operator_session', 'operator_credential']) {
      await q.query(`DROP TABLE gateway.${table}`);
    }
  }
}
