// SQL for the gateway's authentication state (schema `gateway`), used by the gateway and by the
// `palisade` CLI alike, so replicas and the command line always agree on keys, sessions and lockouts.
import type { Scope } from '@palisade/contracts';

export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** NOTIFY channel carrying the id of each revoked API key (replicas close its WebSockets). */
export const REVOCATION_CHANNEL = 'gateway_apikey_revoked';

export interface ApiKeyRecord {
  id: string;
  label: string;
  lookupPrefix: string;
  scopes: Scope[];
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revokeReason: string | null;
}

export interface ApiKeyCandidate extends ApiKeyRecord {
  salt: Buffer;
  hash: Buffer;
}

export interface SessionRecord {
  id: string;
  userName: string;
  scopes: Scope[];
  expiresAt: Date;
}

export interface ThrottleState {
  failures: number;
  lockouts: number;
  lockedUntil: Date | null;
}

const KEY_COLUMNS = `id, label, lookup_prefix, scopes, created_by, created_at, last_used_at, revoked_at, revoke_reason`;

const toKey = (r: Record<string, unknown>): ApiKeyRecord => ({
  id: r.id as string,
  label: r.label as string,
  lookupPrefix: r.lookup_prefix as string,
  scopes: r.scopes as Scope[],
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  lastUsedAt: (r.last_used_at as Date) ?? null,
  revokedAt: (r.revoked_at as Date) ?? null,
  revokeReason: (r.revoke_reason as string) ?? null,
});

export class AuthStore {
  constructor(private readonly db: Queryable) {}

  // --- operator password ------------------------------------------------------------------------
  async passwordHash(): Promise<string | undefined> {
    const { rows } = await this.db.query(
      'SELECT password_hash FROM gateway.operator_credential WHERE id = 1',
    );
    return rows[0]?.password_hash;
  }

  /** Sets the password; with `onlyIfUnset` (onboarding) it succeeds only for the very first one. */
  async setPasswordHash(userName: string, hash: string, onlyIfUnset: boolean): Promise<boolean> {
    const conflict = onlyIfUnset
      ? 'DO NOTHING'
      : 'DO UPDATE SET password_hash = EXCLUDED.password_hash, user_name = EXCLUDED.user_name, updated_at = now()';
    const { rowCount } = await this.db.query(
      `INSERT INTO gateway.operator_credential (id, user_name, password_hash) VALUES (1, $1, $2) ON CONFLICT (id) ${conflict}`,
      [userName, hash],
    );
    return rowCount === 1;
  }

  // --- API keys ---------------------------------------------------------------------------------
  async insertApiKey(key: {
    id: string;
    label: string;
    lookupPrefix: string;
    salt: Buffer;
    hash: Buffer;
    scopes: Scope[];
    createdBy: string;
  }): Promise<ApiKeyRecord> {
    const { rows } = await this.db.query(
      `INSERT INTO gateway.api_key (id, label, lookup_prefix, salt, key_hash, scopes, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`,
      [key.id, key.label, key.lookupPrefix, key.salt, key.hash, key.scopes, key.createdBy],
    );
    return toKey(rows[0]);
  }

  async deleteApiKey(id: string): Promise<void> {
    await this.db.query('DELETE FROM gateway.api_key WHERE id = $1', [id]);
  }

  async listApiKeys(includeRevoked = true): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query(
      `SELECT ${KEY_COLUMNS} FROM gateway.api_key ${includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, id`,
    );
    return rows.map(toKey);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.db.query(`SELECT ${KEY_COLUMNS} FROM gateway.api_key WHERE id = $1`, [id]);
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  /** Every key (revoked or not) sharing a lookup prefix; the caller compares hashes. */
  async keysByPrefix(prefix: string): Promise<ApiKeyCandidate[]> {
    const { rows } = await this.db.query(
      `SELECT ${KEY_COLUMNS}, salt, key_hash FROM gateway.api_key WHERE lookup_prefix = $1`,
      [prefix],
    );
    return rows.map((r) => ({ ...toKey(r), salt: r.salt as Buffer, hash: r.key_hash as Buffer }));
  }

  async isKeyActive(id: string): Promise<boolean> {
    const { rows } = await this.db.query(
      'SELECT 1 FROM gateway.api_key WHERE id = $1 AND revoked_at IS NULL',
      [id],
    );
    return rows.length === 1;
  }

  async touchApiKey(id: string): Promise<void> {
    await this.db.query('UPDATE gateway.api_key SET last_used_at = now() WHERE id = $1', [id]);
  }

  /** Revokes one key if it is still active (and announces it); undefined if unknown or already revoked. */
  async revokeApiKey(id: string, reason: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.db.query(
      `WITH r AS (UPDATE gateway.api_key SET revoked_at = now(), revoke_reason = $2
                  WHERE id = $1 AND revoked_at IS NULL RETURNING ${KEY_COLUMNS})
       SELECT r.*, pg_notify('${REVOCATION_CHANNEL}', r.id::text) FROM r`,
      [id, reason],
    );
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  /** Revokes every active key except one (the caller's, when freezing through the API). */
  async revokeAllExcept(exceptId: string | undefined, reason: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query(
      `WITH r AS (UPDATE gateway.api_key SET revoked_at = now(), revoke_reason = $2
                  WHERE revoked_at IS NULL AND ($1::uuid IS NULL OR id <> $1::uuid) RETURNING ${KEY_COLUMNS})
       SELECT r.*, pg_notify('${REVOCATION_CHANNEL}', r.id::text) FROM r`,
      [exceptId ?? null, reason],
    );
    return rows.map(toKey);
  }

  // --- sessions ---------------------------------------------------------------------------------
  async createSession(s: {
    tokenHash: string;
    id: string;
    userName: string;
    scopes: Scope[];
    remote?: string;
    ttlSeconds: number;
  }): Promise<SessionRecord> {
    const { rows } = await this.db.query(
      `INSERT INTO gateway.operator_session (token_hash, id, user_name, scopes, remote, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING id, user_name, scopes, expires_at`,
      [s.tokenHash, s.id, s.userName, s.scopes, s.remote ?? null, s.ttlSeconds],
    );
    return {
      id: rows[0].id,
      userName: rows[0].user_name,
      scopes: rows[0].scopes,
      expiresAt: rows[0].expires_at,
    };
  }

  /** A live session by token digest; expired ones are never returned. */
  async findSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.db.query(
      `UPDATE gateway.operator_session SET last_seen_at = now()
       WHERE token_hash = $1 AND expires_at > now() RETURNING id, user_name, scopes, expires_at`,
      [tokenHash],
    );
    const r = rows[0];
    return r ? { id: r.id, userName: r.user_name, scopes: r.scopes, expiresAt: r.expires_at } : undefined;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.query('DELETE FROM gateway.operator_session WHERE token_hash = $1', [tokenHash]);
  }

  async deleteAllSessions(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM gateway.operator_session');
    return rowCount ?? 0;
  }

  async deleteExpiredSessions(): Promise<number> {
    const { rowCount } = await this.db.query(
      'DELETE FROM gateway.operator_session WHERE expires_at <= now()',
    );
    return rowCount ?? 0;
  }

  // --- login throttle (per remote address, shared by replicas) -----------------------------------
  /** Seconds until the remote may try again, or 0. */
  async lockedFor(remote: string): Promise<number> {
    const { rows } = await this.db.query(
      `SELECT ceil(extract(epoch FROM locked_until - now()))::int AS s FROM gateway.login_throttle
       WHERE remote = $1 AND locked_until > now()`,
      [remote],
    );
    return rows[0] ? Math.max(1, Number(rows[0].s)) : 0;
  }

  /**
   * Counts a failure. At `maxFailures` the remote is locked out for base·2^(lockouts) seconds (capped),
   * and the counter starts again: each further lockout lasts twice as long. A quiet day forgets it all.
   */
  async recordFailure(
    remote: string,
    policy: { maxFailures: number; baseSeconds: number; maxSeconds: number },
  ): Promise<ThrottleState> {
    const counted = await this.db.query(
      `INSERT INTO gateway.login_throttle AS t (remote, failures) VALUES ($1, 1)
       ON CONFLICT (remote) DO UPDATE SET
         failures = CASE WHEN t.updated_at < now() - interval '1 day' THEN 1 ELSE t.failures + 1 END,
         lockouts = CASE WHEN t.updated_at < now() - interval '1 day' THEN 0 ELSE t.lockouts END,
         updated_at = now()
       RETURNING failures, lockouts, locked_until`,
      [remote],
    );
    const state = counted.rows[0];
    if (state.failures < policy.maxFailures) {
      return { failures: state.failures, lockouts: state.lockouts, lockedUntil: null };
    }
    const locked = await this.db.query(
      `UPDATE gateway.login_throttle SET
         failures = 0, lockouts = lockouts + 1,
         locked_until = now() + make_interval(secs => LEAST($3::float8, $2::float8 * power(2, lockouts)))
       WHERE remote = $1 AND failures >= $4 RETURNING lockouts, locked_until`,
      [remote, policy.baseSeconds, policy.maxSeconds, policy.maxFailures],
    );
    if (!locked.rows[0]) return { failures: state.failures, lockouts: state.lockouts, lockedUntil: null };
    return {
      failures: state.failures,
      lockouts: locked.rows[0].lockouts,
      lockedUntil: locked.rows[0].locked_until,
    };
  }

  async clearFailures(remote: string): Promise<void> {
    await this.db.query('DELETE FROM gateway.login_throttle WHERE remote = $1', [remote]);
  }
}
