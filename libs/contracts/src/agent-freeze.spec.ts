import { applyFreeze, NOT_FROZEN } from './agent-freeze';

describe('agent freeze fold', () => {
  it('freezes with a reason, thaws to not frozen, ignores other agent events', () => {
    const frozen = applyFreeze(NOT_FROZEN, { type: 'agent.frozen', data: { reason: 'incident' } });
    expect(frozen).toEqual({ frozen: true, reason: 'incident' });
    expect(applyFreeze(frozen, { type: 'agent.identity.updated', data: { changed: ['name'] } })).toBe(frozen);
    expect(applyFreeze(frozen, { type: 'agent.thawed', data: {} })).toEqual(NOT_FROZEN);
  });
});
