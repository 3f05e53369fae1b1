// The kill switch's state, folded from the agent aggregate (`evt.agent.<id>`): every service that
// must stop while the agent is frozen folds the same events the same way.
import type { AgentFrozenData } from './events/agent.events';
import type { PalisadeEvent } from './envelope';

export interface AgentFreezeState {
  frozen: boolean;
  /** Why it was frozen ('' when not frozen). */
  reason: string;
}

export const NOT_FROZEN: AgentFreezeState = { frozen: false, reason: '' };

/** The state after one event of the agent aggregate; events other than freeze/thaw leave it unchanged. */
export function applyFreeze(
  state: AgentFreezeState,
  event: Pick<PalisadeEvent, 'type' | 'data'>,
): AgentFreezeState {
  if (event.type === 'agent.frozen')
    return { frozen: true, reason: (event.data as AgentFrozenData).reason ?? '' };
  if (event.type === 'agent.thawed') return NOT_FROZEN;
  return state;
}
