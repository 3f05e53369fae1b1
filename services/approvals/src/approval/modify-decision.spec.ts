import { createEvent, type GrantLimits, uuidv7 } from '@palisade/contracts';
import { evolveApproval, initialApprovalState, type ApprovalState } from './approval.state';
import { modifyDecision } from './modify-decision';

const LIMITS: GrantLimits = {
  memoryBytes: 1,
  nanoCpus: 1,
  pidsLimit: 1,
  timeoutMs: 1,
  outputBytes: 1,
  network: 'none',
};

function pending(mode: 'always' | 'smart' | 'never', network = 'none'): ApprovalState {
  const approval = uuidv7();
  return evolveApproval(
    initialApprovalState(),
    createEvent({
      type: 'exec.approval.requested',
      source: 'approvals',
      aggregateId: approval,
      actor: { type: 'service', id: 'gateway' },
      trust: 'untrusted',
      data: {
        approval,
        session: 'ses_1',
        command: 'ls',
        cwd: '/workspace',
        image: `sha256:${'0'.repeat(64)}`,
        reasons: ['x'],
        mode,
        deadline: '2030-01-01T00:00:00.000Z',
        limits: { ...LIMITS, network },
      },
    }),
  );
}

const decider = { type: 'user' as const, id: 'alice' };
const modify = (state: ApprovalState, command: string, allow: string[] = []) =>
  modifyDecision(state, { command, decider, workspace: '/workspace', allow });

describe('modify: the edited command is evaluated again', () => {
  test('never mode: a floor hit in the edit is denied, and says why', () => {
    const d = modify(pending('never', 'palisade-egress'), 'rm -rf /');
    expect(d).toMatchObject({ decision: 'denied', command: 'rm -rf /', decider });
    expect(d.reason).toMatch(/^modified command refused by the policy; .*dangerous: recursive delete of \//);
  });

  test('never mode: an unparseable edit is denied', () => {
    expect(modify(pending('never'), 'echo "x').decision).toBe('denied');
  });

  test('never mode: an allow rule naming the exact edited command lets it through', () => {
    expect(modify(pending('never'), 'rm -rf ~', ['rm -rf ~'])).toMatchObject({
      decision: 'modified',
      command: 'rm -rf ~',
    });
    expect(modify(pending('never'), 'rm -rf ~ ', ['rm -rf ~']).decision).toBe('denied');
  });

  test('never mode: a harmless edit is modified', () => {
    expect(modify(pending('never'), 'npm test')).toMatchObject({
      decision: 'modified',
      reason: 'modified by user alice',
    });
  });

  test('smart and always: the human who edited decides; floor findings are recorded in the reason', () => {
    for (const mode of ['smart', 'always'] as const) {
      const d = modify(pending(mode), 'rm -rf /');
      expect(d).toMatchObject({ decision: 'modified', command: 'rm -rf /' });
      expect(d.reason).toContain('dangerous: recursive delete of /');
    }
  });

  test('the decider\u2019s own reason is kept', () => {
    const state = pending('smart');
    expect(
      modifyDecision(state, {
        command: 'ls -a',
        decider,
        reason: 'show hidden files',
        workspace: '/workspace',
        allow: [],
      }),
    ).toMatchObject({
      decision: 'modified',
      reason: 'show hidden files',
    });
  });
});
