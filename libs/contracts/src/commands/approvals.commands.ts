import type { ActorType, ApprovalDecision, ApprovalMode, Trust } from '../enums';
import type { GrantLimits, SignedGrant } from '../grant';

/** cmd.approvals.evaluate — the gateway asks whether a command may run (policy + mode + trust). */
export const APPROVALS_EVALUATE = 'cmd.approvals.evaluate';
/** cmd.approvals.decide — an operator (via gateway) or a channel admin (via channels) decides. */
export const APPROVALS_DECIDE = 'cmd.approvals.decide';
/** cmd.approvals.grant — the signed grant of an approved approval (once resolved approved/modified/auto). */
export const APPROVALS_GRANT = 'cmd.approvals.grant';
/** cmd.approvals.get / cmd.approvals.list — state folded from the log / pending read model. */
export const APPROVALS_GET = 'cmd.approvals.get';
export const APPROVALS_LIST = 'cmd.approvals.list';

export interface ApprovalsEvaluateRequest {
  session: string;
  turn: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  /** Image id (sha256:…) sandbox-exec reported through cmd.sandbox.info. */
  image: string;
  limits: GrantLimits;
  trust: Trust;
  tainted: boolean;
  /** Agent and channel whose modes apply; channel/conversation also say where admins may decide. */
  agent?: string;
  channel?: string;
  conversation?: string;
  /** The turn's correlation id (UUIDv7): every event of a turn shares it. Defaults to a new chain. */
  correlationId?: string;
  /** Id (UUIDv7) of the event that led to this request (e.g. `agent.tool.called`). */
  causationId?: string;
  /** Who asked (recorded as the events' actor); defaults to the gateway service. */
  actor?: { type: ActorType; id: string };
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied';

export interface ApprovalView {
  approval: string;
  session: string;
  status: ApprovalStatus;
  /** Set once resolved. */
  decision?: ApprovalDecision;
  /** The command that runs (the modified one after `modified`). */
  command: string;
  cwd: string;
  mode: ApprovalMode;
  reasons: string[];
  rule?: string;
  reason?: string;
  deadline?: string;
  channel?: string;
  conversation?: string;
  decider?: { type: ActorType; id: string };
}

export interface ApprovalsEvaluateReply extends ApprovalView {
  /** Present when approved right away (decision `auto`). */
  grant?: SignedGrant;
}

export interface Decider {
  type: Extract<ActorType, 'user' | 'apikey' | 'sender'>;
  id: string;
  /** For `sender`: the channel where the sender holds `admin`; must be the approval's channel. */
  channel?: string;
}

export interface ApprovalsDecideRequest {
  approval: string;
  decision: 'approve' | 'deny' | 'modify';
  /** For `modify`: the edited command (evaluated again; it is what runs). */
  command?: string;
  reason?: string;
  decider: Decider;
  /** The event that carried the decision (e.g. the admin's chat message); the correlation id stays the approval's. */
  causationId?: string;
}

/** The approval as resolved; `grant` is present for `approved` and `modified`. */
export interface ApprovalsDecideReply extends ApprovalView {
  grant?: SignedGrant;
}

export interface ApprovalsGetRequest {
  approval: string;
}
export type ApprovalsGetReply = ApprovalView;

export interface ApprovalsListRequest {
  status?: ApprovalStatus;
  session?: string;
  channel?: string;
  /** At most this many, newest first (default 100, at most 500). */
  limit?: number;
}
export interface ApprovalsListReply {
  approvals: ApprovalView[];
}

export interface ApprovalsGrantRequest {
  approval: string;
}
export interface ApprovalsGrantReply {
  grant: SignedGrant;
}
