// Projects the cronjob aggregates and the agent's freeze state into schema cron. Due times are
// computed from event times only, so a rebuild yields the same rows as the live projection.
import type { EntityManager } from 'typeorm';
import {
  DEFAULT_AGENT_ID,
  type CronJobDefinitionData,
  type CronJobFiredData,
  type PalisadeEvent,
} from '@palisade/contracts';
import type { ProjectionHandler } from '@palisade/event-log';
import { firstDue, nextDueAfterFiring, parseSchedule, type Schedule } from '../schedule/schedule';

const DEFINITION_COLUMNS = `name, kind, expr, tz, session, prompt, system, trust, creator_type, creator_id,
  definition_event_id, defined_at, version, next_run_at`;

/** The schedule of a stored definition; undefined if it no longer parses (e.g. a time zone dropped). */
function scheduleOf(def: Pick<CronJobDefinitionData, 'kind' | 'expr' | 'tz'>): Schedule | undefined {
  try {
    return parseSchedule({ kind: def.kind, expr: def.expr, tz: def.tz ?? undefined });
  } catch {
    return undefined;
  }
}

const toDate = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));

export class CronJobsProjection implements ProjectionHandler {
  readonly types = [
    'cron.job.created',
    'cron.job.updated',
    'cron.job.removed',
    'cron.job.fired',
    'agent.frozen',
    'agent.thawed',
  ];

  async apply(event: PalisadeEvent, seq: number, tx: EntityManager): Promise<void> {
    const at = Date.parse(event.time);
    switch (event.type) {
      case 'cron.job.created':
      case 'cron.job.updated': {
        const def = event.data as CronJobDefinitionData;
        const schedule = scheduleOf(def);
        const next = schedule ? firstDue(schedule, at) : undefined;
        const values = [
          def.job,
          def.name ?? null,
          def.kind,
          def.expr,
          def.tz ?? null,
          def.session,
          def.prompt ?? null,
          def.system,
          event.trust,
          event.actortype,
          event.actorid,
          event.id,
          new Date(at),
          seq,
          toDate(next),
        ];
        if (event.type === 'cron.job.created') {
          await tx.query(
            `INSERT INTO cron.job (job, ${DEFINITION_COLUMNS}, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $13)
             ON CONFLICT (job) DO UPDATE SET (${DEFINITION_COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15),
               removed_at = NULL
             WHERE cron.job.removed_at IS NOT NULL`,
            values,
          );
        } else {
          // The updater becomes the one whose trust the turns carry.
          await tx.query(
            `UPDATE cron.job SET (${DEFINITION_COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             WHERE job = $1`,
            values,
          );
        }
        return;
      }
      case 'cron.job.removed':
        await tx.query(
          'UPDATE cron.job SET removed_at = $2, next_run_at = NULL, version = $3 WHERE job = $1',
          [event.subject, new Date(at), seq],
        );
        return;
      case 'cron.job.fired': {
        const fired = event.data as CronJobFiredData;
        const rows: { kind: string; expr: string; tz: string | null; removed_at: Date | null }[] =
          await tx.query('SELECT kind, expr, tz, removed_at FROM cron.job WHERE job = $1', [fired.job]);
        if (!rows.length) return;
        const schedule = scheduleOf({
          kind: rows[0].kind as Schedule['kind'],
          expr: rows[0].expr,
          tz: rows[0].tz ?? undefined,
        });
        const next =
          schedule && !rows[0].removed_at
            ? nextDueAfterFiring(schedule, Date.parse(fired.scheduledAt), at)
            : undefined;
        await tx.query(
          `UPDATE cron.job SET last_scheduled_at = $2, last_fired_at = $3, next_run_at = $4, version = $5 WHERE job = $1`,
          [fired.job, new Date(fired.scheduledAt), new Date(at), toDate(next), seq],
        );
        return;
      }
      case 'agent.frozen':
      case 'agent.thawed':
        if (event.subject !== DEFAULT_AGENT_ID) return;
        await tx.query(
          `INSERT INTO cron.agent_state (agent, frozen, changed_at, version) VALUES ($1, $2, $3, $4)
           ON CONFLICT (agent) DO UPDATE SET frozen = EXCLUDED.frozen, changed_at = EXCLUDED.changed_at, version = EXCLUDED.version`,
          [event.subject, event.type === 'agent.frozen', new Date(at), seq],
        );
        return;
    }
  }

  async reset(tx: EntityManager): Promise<void> {
    await tx.query('DELETE FROM cron.job');
    await tx.query('DELETE FROM cron.agent_state');
  }
}
