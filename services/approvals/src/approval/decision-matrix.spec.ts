// The contracts' approval rules as a table: mode × sender trust × content taint × sandbox egress × what the
// policy finds. Every row names the expected outcome and the reason that must be given.
import { assessCommand, type AssessInput } from './assess-command';

type Taint = 'clean' | 'egress only' | 'tainted, no egress' | 'tainted, egress';
type Kind = 'safe' | 'not proven safe' | 'floor' | 'unparseable' | 'floor named by an allow rule';

const COMMANDS: Record<Kind, string> = {
  safe: 'ls -la | head',
  'not proven safe': 'npm test',
  floor: 'rm -rf /',
  unparseable: 'echo "unterminated',
  'floor named by an allow rule': 'rm -rf ~',
};
const TAINT: Record<Taint, { tainted: boolean; network: string }> = {
  clean: { tainted: false, network: 'none' },
  'egress only': { tainted: false, network: 'palisade-egress' },
  'tainted, no egress': { tainted: true, network: 'none' },
  'tainted, egress': { tainted: true, network: 'palisade-egress' },
};
const TAINTS = Object.keys(TAINT) as Taint[];
const KINDS = Object.keys(COMMANDS) as Kind[];

function assess(mode: AssessInput['mode'], trust: AssessInput['trust'], taint: Taint, kind: Kind) {
  return assessCommand({
    command: COMMANDS[kind],
    cwd: '/workspace',
    mode,
    trust,
    ...TAINT[taint],
    workspace: '/workspace',
    allow: ['rm -rf ~'],
  });
}

type Row = [AssessInput['mode'], Taint, Kind, 'auto' | 'ask' | 'deny', string];

// Trusted sender (operator or admin-level channel sender), smart and never. `rule` rows are auto.
const TRUSTED: Row[] = [
  ['smart', 'clean', 'safe', 'auto', 'rule smart.safe-list'],
  ['smart', 'clean', 'not proven safe', 'ask', 'not proven safe: asks'],
  ['smart', 'clean', 'floor', 'ask', 'dangerous floor: always asks'],
  ['smart', 'clean', 'unparseable', 'ask', 'could not be parsed: asks'],
  ['smart', 'clean', 'floor named by an allow rule', 'ask', 'dangerous floor: always asks'],
  ['smart', 'egress only', 'safe', 'auto', 'rule smart.safe-list'],
  ['smart', 'egress only', 'not proven safe', 'ask', 'not proven safe: asks'],
  ['smart', 'egress only', 'floor', 'ask', 'dangerous floor: always asks'],
  ['smart', 'egress only', 'unparseable', 'ask', 'could not be parsed: asks'],
  ['smart', 'egress only', 'floor named by an allow rule', 'ask', 'dangerous floor: always asks'],
  ['smart', 'tainted, no egress', 'safe', 'auto', 'rule smart.safe-list.tainted-no-egress'],
  ['smart', 'tainted, no egress', 'not proven safe', 'ask', 'not proven safe: asks'],
  ['smart', 'tainted, no egress', 'floor', 'ask', 'dangerous floor: always asks'],
  ['smart', 'tainted, no egress', 'unparseable', 'ask', 'could not be parsed: asks'],
  ['smart', 'tainted, no egress', 'floor named by an allow rule', 'ask', 'dangerous floor: always asks'],
  ['smart', 'tainted, egress', 'safe', 'ask', 'tainted session with network egress: every command asks'],
  [
    'smart',
    'tainted, egress',
    'not proven safe',
    'ask',
    'tainted session with network egress: every command asks',
  ],
  ['smart', 'tainted, egress', 'floor', 'ask', 'tainted session with network egress: every command asks'],
  [
    'smart',
    'tainted, egress',
    'unparseable',
    'ask',
    'tainted session with network egress: every command asks',
  ],
  [
    'smart',
    'tainted, egress',
    'floor named by an allow rule',
    'ask',
    'tainted session with network egress: every command asks',
  ],
  ['never', 'clean', 'safe', 'auto', 'rule never.policy'],
  ['never', 'clean', 'not proven safe', 'auto', 'rule never.policy'],
  ['never', 'clean', 'floor', 'deny', 'mode never: dangerous command denied'],
  ['never', 'clean', 'unparseable', 'deny', 'mode never: unparseable command denied'],
  ['never', 'clean', 'floor named by an allow rule', 'auto', 'rule never.allow-rule'],
  ['never', 'egress only', 'safe', 'auto', 'rule never.policy'],
  ['never', 'egress only', 'not proven safe', 'auto', 'rule never.policy'],
  ['never', 'egress only', 'floor', 'deny', 'mode never: dangerous command denied'],
  ['never', 'egress only', 'unparseable', 'deny', 'mode never: unparseable command denied'],
  ['never', 'egress only', 'floor named by an allow rule', 'auto', 'rule never.allow-rule'],
  ['never', 'tainted, no egress', 'safe', 'auto', 'rule never.policy'],
  ['never', 'tainted, no egress', 'not proven safe', 'auto', 'rule never.policy'],
  ['never', 'tainted, no egress', 'floor', 'deny', 'mode never: dangerous command denied'],
  ['never', 'tainted, no egress', 'unparseable', 'deny', 'mode never: unparseable command denied'],
  ['never', 'tainted, no egress', 'floor named by an allow rule', 'auto', 'rule never.allow-rule'],
  // contracts: "with egress configured, a tainted session asks for every command" — in never mode too.
  ['never', 'tainted, egress', 'safe', 'ask', 'tainted session with network egress: every command asks'],
  [
    'never',
    'tainted, egress',
    'not proven safe',
    'ask',
    'tainted session with network egress: every command asks',
  ],
  ['never', 'tainted, egress', 'floor', 'ask', 'tainted session with network egress: every command asks'],
  [
    'never',
    'tainted, egress',
    'unparseable',
    'ask',
    'tainted session with network egress: every command asks',
  ],
  [
    'never',
    'tainted, egress',
    'floor named by an allow rule',
    'ask',
    'tainted session with network egress: every command asks',
  ],
];

describe('approval decision matrix', () => {
  test.each(TRUSTED)('trusted, %s, %s, %s → %s (%s)', (mode, taint, kind, outcome, why) => {
    const d = assess(mode, 'trusted', taint, kind);
    expect(d.outcome).toBe(outcome);
    if (why.startsWith('rule ')) expect(d.rule).toBe(why.slice(5));
    else {
      expect(d.rule).toBeUndefined();
      expect(d.reasons).toContain(why);
    }
  });

  const everyTaintAndKind = TAINTS.flatMap((t) => KINDS.map((k) => [t, k] as const));

  test.each(everyTaintAndKind)('always, any sender, %s, %s → ask: every command asks', (taint, kind) => {
    for (const trust of ['trusted', 'untrusted'] as const) {
      const d = assess('always', trust, taint, kind);
      expect({ outcome: d.outcome, first: d.reasons[0] }).toEqual({
        outcome: 'ask',
        first: 'mode always: every command asks',
      });
    }
  });

  test.each(everyTaintAndKind)('untrusted sender, smart, %s, %s → ask, never auto', (taint, kind) => {
    const d = assess('smart', 'untrusted', taint, kind);
    expect({ outcome: d.outcome, first: d.reasons[0] }).toEqual({
      outcome: 'ask',
      first: 'untrusted sender: commands are never auto-approved',
    });
  });

  test.each(everyTaintAndKind)(
    'untrusted sender, never, %s, %s → deny (never does not ask)',
    (taint, kind) => {
      const d = assess('never', 'untrusted', taint, kind);
      expect({ outcome: d.outcome, first: d.reasons[0] }).toEqual({
        outcome: 'deny',
        first: 'untrusted sender: commands are never auto-approved, and mode never does not ask',
      });
    },
  );

  test('the floor always says why', () => {
    for (const mode of ['always', 'smart', 'never'] as const) {
      expect(assess(mode, 'trusted', 'clean', 'floor').reasons).toContain('dangerous: recursive delete of /');
    }
  });

  test('a cwd outside the workspace: smart no longer trusts its path proofs and asks', () => {
    const input: AssessInput = {
      command: 'ls > out.txt',
      cwd: '/etc',
      mode: 'smart',
      trust: 'trusted',
      tainted: false,
      network: 'none',
      workspace: '/workspace',
      allow: [],
    };
    const outside = assessCommand(input);
    expect(outside.outcome).toBe('ask');
    expect(outside.rule).toBeUndefined();
    expect(outside.reasons[0]).toBe('cwd /etc is outside the session workspace: asks');
    expect(assessCommand({ ...input, cwd: '/workspace/src' }).outcome).toBe('auto');
    expect(assessCommand({ ...input, cwd: '/workspace-other' }).outcome).toBe('ask');
    // never mode does not rest on the path proofs: it still runs on the policy's say-so
    expect(assessCommand({ ...input, mode: 'never' }).outcome).toBe('auto');
  });
});
