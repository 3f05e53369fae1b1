// What a `modify` decision becomes. The edited command is evaluated again — by the policy, for the human
// who edited it: what counts is a denial (the dangerous floor in `never` mode, unless an allow rule names
// the exact command). Any other finding is recorded in the reason, and the edit runs because that human,
// who has seen it, decided so. The sender trust and taint of the original turn do not apply to the
// decider's own edit; the approval's mode and its sandbox's egress do.
import type { ExecApprovalResolvedData } from '@palisade/contracts';
import type { ApprovalState } from './approval.state';
import { assessCommand } from './assess-command';

const REASON_MAX = 4096;

export interface ModifyInput {
  command: string;
  decider: { type: 'user' | 'apikey' | 'sender'; id: string };
  reason?: string;
  workspace: string;
  allow: readonly string[];
}

export function modifyDecision(state: ApprovalState, input: ModifyInput): ExecApprovalResolvedData {
  const r = state.requested!.data;
  const decision = assessCommand({
    command: input.command,
    cwd: r.cwd,
    mode: r.mode,
    trust: 'trusted',
    tainted: false,
    network: r.limits?.network ?? 'none',
    workspace: input.workspace,
    allow: input.allow,
  });
  const base = {
    approval: r.approval,
    decider: { type: input.decider.type, id: input.decider.id },
    command: input.command,
  };
  if (decision.outcome === 'deny') {
    return {
      ...base,
      decision: 'denied',
      reason: cap(['modified command refused by the policy', ...decision.reasons]),
    };
  }
  const findings = decision.dangerous.map((d) => `dangerous: ${d.reason}`);
  return {
    ...base,
    decision: 'modified',
    reason: cap([input.reason ?? `modified by ${input.decider.type} ${input.decider.id}`, ...findings]),
  };
}

function cap(reasons: string[]): string {
  const text = reasons.join('; ');
  return text.length > REASON_MAX ? text.slice(0, REASON_MAX - 1) + '…' : text;
}
