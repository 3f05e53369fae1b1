// The approval aggregate (`evt.approval.<id>`) folded from its events: requested → resolved → grant issued.
import type {
  ActorType,
  ApprovalStatus,
  ApprovalView,
  ExecApprovalRequestedData,
  ExecApprovalResolvedData,
  ExecGrantIssuedData,
  Grant,
  GrantLimits,
  PalisadeEvent,
} from '@palisade/contracts';

export interface ApprovalState {
  requested?: {
    id: string;
    correlationId: string;
    trust: 'trusted' | 'untrusted';
    data: ExecApprovalRequestedData;
  };
  resolved?: { id: string; data: ExecApprovalResolvedData };
  grant?: ExecGrantIssuedData;
}

export const initialApprovalState = (): ApprovalState => ({});

export function evolveApproval(state: ApprovalState, event: PalisadeEvent): ApprovalState {
  switch (event.type) {
    case 'exec.approval.requested':
      return {
        ...state,
        requested: {
          id: event.id,
          correlationId: event.correlationid ?? event.id,
          trust: (event.trust as 'trusted' | 'untrusted' | undefined) ?? 'untrusted',
          data: event.data as ExecApprovalRequestedData,
        },
      };
    case 'exec.approval.resolved':
      // The first resolution counts; appends use the expected version, so a second one cannot exist.
      return state.resolved
        ? state
        : { ...state, resolved: { id: event.id, data: event.data as ExecApprovalResolvedData } };
    case 'exec.grant.issued':
      return state.grant ? state : { ...state, grant: event.data as ExecGrantIssuedData };
    default:
      return state;
  }
}

export const APPROVED_DECISIONS = ['approved', 'modified', 'auto'] as const;

export function statusOf(state: ApprovalState): ApprovalStatus | undefined {
  if (!state.requested) return undefined;
  if (!state.resolved) return 'pending';
  return (APPROVED_DECISIONS as readonly string[]).includes(state.resolved.data.decision)
    ? 'approved'
    : 'denied';
}

/** The command that runs: the decider's edit after `modified`, else the requested one. */
export function commandOf(state: ApprovalState): string {
  const resolved = state.resolved?.data;
  return resolved?.decision === 'modified' && resolved.command
    ? resolved.command
    : state.requested!.data.command;
}

export function viewOf(state: ApprovalState): ApprovalView {
  const r = state.requested!.data;
  const resolved = state.resolved?.data;
  const view: ApprovalView = {
    approval: r.approval,
    session: r.session,
    status: statusOf(state)!,
    command: commandOf(state),
    cwd: r.cwd,
    mode: r.mode,
    reasons: r.reasons,
  };
  if (r.channel) view.channel = r.channel;
  if (r.conversation) view.conversation = r.conversation;
  if (!resolved) view.deadline = r.deadline;
  if (resolved) {
    view.decision = resolved.decision;
    view.reason = resolved.reason;
    if (resolved.rule) view.rule = resolved.rule;
    if (resolved.decider)
      view.decider = { type: resolved.decider.type as ActorType, id: resolved.decider.id };
  }
  return view;
}

/** The grant an approved approval binds: exact command, cwd, env, image, session and limits. */
export function grantOf(state: ApprovalState, grantId: string, exp: string): Grant {
  const r = state.requested!.data;
  if (!r.limits) throw new Error(`approval ${r.approval} has no recorded limits`);
  return {
    grant: grantId,
    approval: r.approval,
    session: r.session,
    command: commandOf(state),
    cwd: r.cwd,
    env: r.env ?? {},
    image: r.image,
    limits: { ...(r.limits as GrantLimits) },
    exp,
  };
}
