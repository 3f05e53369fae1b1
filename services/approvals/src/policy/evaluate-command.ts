/**
 * The approvals command policy: turns the analysis of one command and the session's context into
 * auto / ask / deny, following the contracts reference ("Approval modes", "Trust and sensitivity").
 *
 * Order of the rules, first match wins:
 *  1. `always`                                   → ask (every command asks a human).
 *  2. untrusted sender                           → ask; in `never`: deny. Allow rules do not lift this.
 *  3. tainted session whose sandbox has egress   → ask (also in `never`: "with egress configured, a tainted
 *                                                   session asks for every command").
 *  4. `never`: dangerous floor or unparseable    → deny, unless an allow rule names the exact command → auto.
 *     `never`: anything else                      → auto (`never.policy`).
 *  5. `smart`: dangerous floor                    → ask, saying why (allow rules do not lift the floor here).
 *     `smart`: unparseable                        → ask.
 *     `smart`: exact allow rule                   → auto (`smart.allow-rule`).
 *     `smart`: proven safe                        → auto (`smart.safe-list`; `smart.safe-list.tainted-no-egress`
 *                                                   for a tainted session without egress).
 *     `smart`: otherwise                          → ask.
 */
import { analyzeCommand } from './command-analyzer';
import type { PolicyContext, PolicyDecision, PolicyOutcome } from './policy.types';

export function evaluateCommand(command: string, ctx: PolicyContext): PolicyDecision {
  const analysis = analyzeCommand(command, ctx.workspace);
  const dangerReasons = analysis.dangerous.map((d) => `dangerous: ${d.reason}`);
  const floor = analysis.dangerous.length > 0;
  const provenSafe = analysis.parsed && analysis.unsafe.length === 0 && !floor;
  const allowed = (ctx.allowRules ?? []).includes(command);

  const decide = (outcome: PolicyOutcome, lead: string[], rule?: string): PolicyDecision => ({
    outcome,
    ...(rule ? { rule } : {}),
    reasons: unique([...lead, ...dangerReasons, ...analysis.unsafe]),
    dangerous: analysis.dangerous,
    parsed: analysis.parsed,
    commands: analysis.commands,
  });

  if (ctx.mode === 'always') return decide('ask', ['mode always: every command asks']);

  if (ctx.senderTrust === 'untrusted') {
    return ctx.mode === 'never'
      ? decide('deny', ['untrusted sender: commands are never auto-approved, and mode never does not ask'])
      : decide('ask', ['untrusted sender: commands are never auto-approved']);
  }

  if (ctx.sessionTainted && ctx.sandboxEgress) {
    return decide('ask', ['tainted session with network egress: every command asks']);
  }

  if (ctx.mode === 'never') {
    if (floor || !analysis.parsed) {
      if (allowed)
        return decide('auto', ['mode never: an allow rule names this exact command'], 'never.allow-rule');
      return decide('deny', [
        floor ? 'mode never: dangerous command denied' : 'mode never: unparseable command denied',
      ]);
    }
    return decide(
      'auto',
      ['mode never: runs on the policy\u2019s say-so (no dangerous pattern found)'],
      'never.policy',
    );
  }

  // smart (the default)
  if (floor) return decide('ask', ['dangerous floor: always asks']);
  if (!analysis.parsed) return decide('ask', ['could not be parsed: asks']);
  if (allowed) return decide('auto', ['an allow rule names this exact command'], 'smart.allow-rule');
  if (provenSafe) {
    const n = analysis.commands.length;
    const lead = [
      `proven safe: ${n === 1 ? 'the command is' : `all ${n} commands are`} on the safe list with safe arguments`,
    ];
    if (ctx.sessionTainted) {
      lead.push('tainted session without network egress: safe commands may still run');
      return decide('auto', lead, 'smart.safe-list.tainted-no-egress');
    }
    return decide('auto', lead, 'smart.safe-list');
  }
  return decide('ask', ['not proven safe: asks']);
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
