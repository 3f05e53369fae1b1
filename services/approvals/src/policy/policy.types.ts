/**
 * Types of the approvals command policy. The semantics follow the contracts reference,
 * "Approval modes" and "Trust and sensitivity".
 */

/** `always`: every command asks; `smart` (default): auto only when proven safe; `never`: auto unless dangerous. */
export type ApprovalMode = 'always' | 'smart' | 'never';

/** Who asked: operators and admin-level channel senders are trusted; everyone else is not. */
export type SenderTrust = 'trusted' | 'untrusted';

export interface PolicyContext {
  mode: ApprovalMode;
  senderTrust: SenderTrust;
  /** Untrusted content (tool output, files, web pages, mail, other people's words) is in the session's context. */
  sessionTainted: boolean;
  /** True when the session's sandbox has any network egress. */
  sandboxEgress: boolean;
  /** The sandbox working directory, e.g. `/workspace`; relative paths resolve against it. */
  workspace: string;
  /** Exact command strings an operator explicitly allowed (compared byte for byte, no trimming). */
  allowRules?: readonly string[];
}

export type PolicyOutcome = 'auto' | 'ask' | 'deny';

/** One hit of the dangerous floor. */
export interface DangerFinding {
  /** Stable identifier of the pattern, e.g. `rm-recursive-root` (see dangerous-patterns.ts). */
  id: string;
  /** Plain-language reason, e.g. `recursive delete of /`. */
  reason: string;
  /** The piece of the command the finding is about. */
  command: string;
  /**
   * Where it was seen: `ast` on the parsed command, `inner` inside a string the policy parsed as shell
   * (sh -c, eval, watch, ssh, piped or here-doc scripts, expanded names), `raw` by the text fallback
   * (unparseable input or opaque interpreter code).
   */
  via: 'ast' | 'inner' | 'raw';
}

export interface PolicyDecision {
  outcome: PolicyOutcome;
  /** The rule that allowed an `auto` outcome, e.g. `smart.safe-list`. */
  rule?: string;
  /** Every reason found, human-readable. */
  reasons: string[];
  dangerous: DangerFinding[];
  /** False when the shell parser reported errors (the decision then never auto-approves on the policy's say-so). */
  parsed: boolean;
  /** The simple commands found, as written (including those inside substitutions and parsed inner strings). */
  commands: string[];
}
