// Closed vocabularies shared by every service. Each is a const object (so code can write
// `Trust.Trusted`) plus a string-literal union type (so producers can write plain literals like
// `'trusted'`) plus the list of values (for validators and exhaustive tests).

/** Who caused an event (envelope extension `actortype`). */
export const ActorType = {
  User: 'user',
  ApiKey: 'apikey',
  Service: 'service',
  Sender: 'sender',
  System: 'system',
} as const;
export type ActorType = (typeof ActorType)[keyof typeof ActorType];
export const ACTOR_TYPES: readonly ActorType[] = Object.values(ActorType);

/** Sender trust of the turn that caused an event (envelope extension `trust`). */
export const Trust = {
  Trusted: 'trusted',
  Untrusted: 'untrusted',
} as const;
export type Trust = (typeof Trust)[keyof typeof Trust];
export const TRUST_LEVELS: readonly Trust[] = Object.values(Trust);

/** How approvals treats a command (contracts: "Approval modes"); `smart` is the default. */
export const ApprovalMode = {
  Always: 'always',
  Smart: 'smart',
  Never: 'never',
} as const;
export type ApprovalMode = (typeof ApprovalMode)[keyof typeof ApprovalMode];
export const APPROVAL_MODES: readonly ApprovalMode[] = Object.values(ApprovalMode);
export const DEFAULT_APPROVAL_MODE: ApprovalMode = ApprovalMode.Smart;

/** Level at which a channel sender is admitted. Only `admin` senders are trusted. */
export const SenderLevel = {
  ReadOnly: 'read-only',
  Execute: 'execute',
  Admin: 'admin',
} as const;
export type SenderLevel = (typeof SenderLevel)[keyof typeof SenderLevel];
export const SENDER_LEVELS: readonly SenderLevel[] = Object.values(SenderLevel);

/** Outcome recorded by `exec.approval.resolved`. `auto` always names the rule that allowed it. */
export const ApprovalDecision = {
  Approved: 'approved',
  Denied: 'denied',
  Modified: 'modified',
  Timeout: 'timeout',
  Auto: 'auto',
} as const;
export type ApprovalDecision = (typeof ApprovalDecision)[keyof typeof ApprovalDecision];
export const APPROVAL_DECISIONS: readonly ApprovalDecision[] = Object.values(ApprovalDecision);

/** Operator scopes carried by sessions and API keys at the gateway. */
export const Scope = {
  OperatorRead: 'operator.read',
  OperatorWrite: 'operator.write',
  OperatorAdmin: 'operator.admin',
  OperatorApprovals: 'operator.approvals',
  OperatorPairing: 'operator.pairing',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
export const SCOPES: readonly Scope[] = Object.values(Scope);

/** Trust that follows from a sender's admission level (contracts: "Trust and sensitivity"). */
export function trustOfSenderLevel(level: SenderLevel): Trust {
  return level === SenderLevel.Admin ? Trust.Trusted : Trust.Untrusted;
}
