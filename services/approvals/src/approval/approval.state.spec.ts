import {
  createEvent,
  type GrantLimits,
  type PalisadeEvent,
  signGrant,
  uuidv7,
  verifyGrant,
} from '@palisade/contracts';
import { generateKeyPairSync } from 'node:crypto';
import {
  type ApprovalState,
  commandOf,
  evolveApproval,
  grantOf,
  initialApprovalState,
  statusOf,
  viewOf,
} from './approval.state';

const LIMITS: GrantLimits = {
  memoryBytes: 2,
  nanoCpus: 3,
  pidsLimit: 4,
  timeoutMs: 5,
  outputBytes: 6,
  network: 'none',
};
const approval = uuidv7();
const TURN = uuidv7();
const actor = { type: 'service' as const, id: 'approvals' };

const requested = createEvent({
  type: 'exec.approval.requested',
  source: 'approvals',
  aggregateId: approval,
  correlationId: TURN,
  actor,
  trust: 'trusted',
  data: {
    approval,
    session: 'ses_abc',
    command: 'npm test',
    cwd: '/workspace',
    env: { LANG: 'C' },
    image: `sha256:${'1'.repeat(64)}`,
    reasons: ['segment 1: npm is not on the safe list'],
    mode: 'smart',
    deadline: '2030-01-01T00:00:00.000Z',
    channel: 'talk-main',
    limits: LIMITS,
  },
});
const resolved = (data: Record<string, unknown>) =>
  createEvent({
    type: 'exec.approval.resolved',
    source: 'approvals',
    aggregateId: approval,
    actor,
    trust: 'trusted',
    data: { approval, ...data } as never,
  });
const fold = (events: PalisadeEvent[]): ApprovalState =>
  events.reduce(evolveApproval, initialApprovalState());

describe('approval aggregate', () => {
  test('requested → pending, with the deadline in the view', () => {
    const state = fold([requested]);
    expect(statusOf(state)).toBe('pending');
    expect(state.requested!.correlationId).toBe(TURN);
    expect(viewOf(state)).toEqual({
      approval,
      session: 'ses_abc',
      status: 'pending',
      command: 'npm test',
      cwd: '/workspace',
      mode: 'smart',
      reasons: ['segment 1: npm is not on the safe list'],
      deadline: '2030-01-01T00:00:00.000Z',
      channel: 'talk-main',
    });
  });

  test.each([
    ['approved', 'approved'],
    ['auto', 'approved'],
    ['denied', 'denied'],
    ['timeout', 'denied'],
  ])('%s → %s', (decision, status) => {
    const state = fold([
      requested,
      resolved({ decision, reason: 'r', ...(decision === 'auto' ? { rule: 'smart.safe-list' } : {}) }),
    ]);
    expect(statusOf(state)).toBe(status);
    expect(viewOf(state).deadline).toBeUndefined();
  });

  test('modified: the edited command is what runs and what the grant binds', () => {
    const state = fold([
      requested,
      resolved({
        decision: 'modified',
        command: 'npm test -- -i',
        reason: 'r',
        decider: { type: 'user', id: 'a' },
      }),
    ]);
    expect(statusOf(state)).toBe('approved');
    expect(commandOf(state)).toBe('npm test -- -i');
    expect(viewOf(state)).toMatchObject({
      command: 'npm test -- -i',
      decision: 'modified',
      decider: { type: 'user', id: 'a' },
    });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const grant = grantOf(state, uuidv7(), '2030-01-01T00:00:00.000Z');
    expect(verifyGrant(publicKey, signGrant(privateKey, grant), new Date('2029-01-01T00:00:00Z'))).toEqual({
      grant: grant.grant,
      approval,
      session: 'ses_abc',
      command: 'npm test -- -i',
      cwd: '/workspace',
      env: { LANG: 'C' },
      image: `sha256:${'1'.repeat(64)}`,
      limits: LIMITS,
      exp: '2030-01-01T00:00:00.000Z',
    });
  });

  test('only the first resolution and the first grant count', () => {
    const state = fold([
      requested,
      resolved({ decision: 'denied', reason: 'first' }),
      resolved({ decision: 'approved', reason: 'second' }),
    ]);
    expect(viewOf(state)).toMatchObject({ status: 'denied', reason: 'first' });
  });

  test('no requested event: no approval', () => {
    expect(statusOf(fold([]))).toBeUndefined();
  });
});
