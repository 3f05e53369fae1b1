// The creation rate limit, per creator (an operator, API key or channel sender: one of them cannot
// use up another's quota), shared by every cron replica through PostgreSQL. Each admission is a row
// written under one advisory lock in the same transaction that appends the creation, so two replicas
// cannot both admit the last free slot, a restart forgets nothing, and projection lag does not matter.
import type { DataSource } from 'typeorm';
import { RpcError, RpcErrorCode, type CronRateLimitDetails } from '@palisade/contracts';
import { slidingWindowDecision } from './sliding-window';

/** Admissions older than this are deleted (kept at least one window). */
const KEEP_MS = 86_400_000;

export interface CreationAdmission {
  job: string;
  creatorType: string;
  creatorId: string;
}

export class CreationRateLimiter {
  constructor(
    private readonly db: DataSource,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /**
   * Runs `create` (the append) only if the window has room, holding the lock until it is done.
   * Refuses with `rate_limited` and the seconds until a slot frees up otherwise.
   */
  async admit<T>(admission: CreationAdmission, create: () => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `palisade.cron.create\n${admission.creatorType}\n${admission.creatorId}`,
      ]);
      // The database clock, not this process's: replicas on different hosts agree on the window.
      const [{ now }]: { now: Date }[] = await tx.query('SELECT clock_timestamp() AS now');
      const nowMs = now.getTime();
      const rows: { at: Date }[] = await tx.query(
        'SELECT at FROM cron.creation WHERE creator_type = $1 AND creator_id = $2 AND at > $3',
        [admission.creatorType, admission.creatorId, new Date(nowMs - this.windowMs)],
      );
      const decision = slidingWindowDecision(
        rows.map((r) => r.at.getTime()),
        nowMs,
        this.limit,
        this.windowMs,
      );
      if (!decision.allowed) {
        const details: CronRateLimitDetails = {
          limit: this.limit,
          windowSeconds: this.windowMs / 1000,
          retryAfterSeconds: Math.ceil(decision.retryAfterMs / 1000),
        };
        throw new RpcError(
          RpcErrorCode.RateLimited,
          `too many cron jobs created by ${admission.creatorType} ${admission.creatorId}: at most ${this.limit} per ${details.windowSeconds} s; retry after ${details.retryAfterSeconds} s`,
          details,
        );
      }
      await tx.query(
        'INSERT INTO cron.creation (job, creator_type, creator_id, at) VALUES ($1, $2, $3, $4)',
        [admission.job, admission.creatorType, admission.creatorId, now],
      );
      await tx.query('DELETE FROM cron.creation WHERE at < $1', [
        new Date(nowMs - Math.max(KEEP_MS, this.windowMs)),
      ]);
      // If the append fails the admission rolls back with it.
      return create();
    });
  }
}
