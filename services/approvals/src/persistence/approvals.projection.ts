// Projects approvals and the agents' freeze state into PostgreSQL (schema `approvals`). The read model
// is what the timeout sweep and cmd.approvals.list read; it is rebuilt from EVENTS at any time.
import type { EntityManager } from 'typeorm';
import {
  type AgentFrozenData,
  type AgentThawedData,
  DEFAULT_AGENT_ID,
  type ExecApprovalRequestedData,
  type ExecApprovalResolvedData,
  type ExecGrantIssuedData,
  type PalisadeEvent,
} from '@palisade/contracts';
import { APPROVED_DECISIONS as APPROVED_DECISIONS_LIST } from '../approval/approval.state';
import type { ProjectionHandler } from '@palisade/event-log';

export class ApprovalsProjection implements ProjectionHandler {
  readonly types = [
    'exec.approval.requested',
    'exec.approval.resolved',
    'exec.grant.issued',
    'agent.frozen',
    'agent.thawed',
  ] as const;

  async apply(event: PalisadeEvent, seq: number, tx: EntityManager): Promise<void> {
    switch (event.type) {
      case 'exec.approval.requested': {
        const d = event.data as ExecApprovalRequestedData;
        await tx.query(
          `INSERT INTO approvals.approval
             (approval, agent, session, status, command, cwd, mode, reasons, deadline, channel, conversation,
              requested_seq, last_seq, created_at)
           VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
           ON CONFLICT (approval) DO NOTHING`,
          [
            d.approval,
            d.agent ?? DEFAULT_AGENT_ID,
            d.session,
            d.command,
            d.cwd,
            d.mode,
            JSON.stringify(d.reasons),
            d.deadline,
            d.channel ?? null,
            d.conversation ?? null,
            seq,
            event.time,
          ],
        );
        return;
      }
      case 'exec.approval.resolved': {
        const d = event.data as ExecApprovalResolvedData;
        const status = (APPROVED_DECISIONS_LIST as readonly string[]).includes(d.decision)
          ? 'approved'
          : 'denied';
        await tx.query(
          `UPDATE approvals.approval
              SET status = $2, decision = $3, rule = $4, reason = $5, decider_type = $6, decider_id = $7,
                  command = coalesce($8, command), resolved_at = $9, last_seq = $10
            WHERE approval = $1 AND status = 'pending'`,
          [
            event.subject,
            status,
            d.decision,
            d.rule ?? null,
            d.reason,
            d.decider?.type ?? null,
            d.decider?.id ?? null,
            d.decision === 'modified' ? (d.command ?? null) : null,
            event.time,
            seq,
          ],
        );
        return;
      }
      case 'exec.grant.issued': {
        const d = event.data as ExecGrantIssuedData;
        await tx.query(
          `UPDATE approvals.approval SET grant_id = $2, last_seq = $3 WHERE approval = $1 AND grant_id IS NULL`,
          [event.subject, d.grant, seq],
        );
        return;
      }
      case 'agent.frozen':
      case 'agent.thawed': {
        const frozen = event.type === 'agent.frozen';
        const reason = (event.data as AgentFrozenData | AgentThawedData).reason ?? null;
        await tx.query(
          `INSERT INTO approvals.agent_freeze (agent, frozen, reason, event_id, correlation_id, seq)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (agent) DO UPDATE SET frozen = EXCLUDED.frozen, reason = EXCLUDED.reason,
             event_id = EXCLUDED.event_id, correlation_id = EXCLUDED.correlation_id, seq = EXCLUDED.seq
           WHERE approvals.agent_freeze.seq < EXCLUDED.seq`,
          [event.subject, frozen, reason, event.id, event.correlationid ?? event.id, seq],
        );
        return;
      }
    }
  }

  async reset(tx: EntityManager): Promise<void> {
    await tx.query('DELETE FROM approvals.approval');
    await tx.query('DELETE FROM approvals.agent_freeze');
  }
}
