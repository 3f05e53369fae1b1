// The service's view of the policy: the pure shell policy (policy/evaluate-command.ts) plus what only the
// service knows — where the command runs and whether the sandbox has egress.
import { posix } from 'node:path';
import type { ApprovalMode, GrantLimits, Trust } from '@palisade/contracts';
import { evaluateCommand, type PolicyDecision } from '../policy';

export interface AssessInput {
  command: string;
  cwd: string;
  mode: ApprovalMode;
  trust: Trust;
  tainted: boolean;
  /** The sandbox's network: `none` means no egress. */
  network: GrantLimits['network'];
  workspace: string;
  allow: readonly string[];
}

export function hasEgress(network: string): boolean {
  return network !== 'none';
}

function inside(path: string, dir: string): boolean {
  const p = posix.normalize(path);
  const d = posix.normalize(dir).replace(/\/+$/, '') || '/';
  return d === '/' || p === d || p.startsWith(d + '/');
}

export function assessCommand(input: AssessInput): PolicyDecision {
  const decision = evaluateCommand(input.command, {
    mode: input.mode,
    senderTrust: input.trust,
    sessionTainted: input.tainted,
    sandboxEgress: hasEgress(input.network),
    workspace: input.workspace,
    allowRules: input.allow,
  });
  // The policy resolves relative paths against the workspace; from a cwd outside it that proof does not
  // hold, so smart mode asks instead of trusting it.
  if (
    decision.outcome === 'auto' &&
    decision.rule?.startsWith('smart.safe-list') &&
    !inside(input.cwd, input.workspace)
  ) {
    const { rule: _rule, ...rest } = decision;
    return {
      ...rest,
      outcome: 'ask',
      reasons: [`cwd ${input.cwd} is outside the session workspace: asks`, ...decision.reasons],
    };
  }
  return decision;
}
