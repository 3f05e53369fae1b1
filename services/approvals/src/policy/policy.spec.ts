import {
  CORPUS,
  corpusContext,
  DEFAULT_CORPUS_CONTEXT,
  type CorpusCase,
  type CorpusCategory,
} from './corpus';
import { DANGER_CATALOG, evaluateCommand, SAFE_COMMANDS, type PolicyContext } from './index';

const ctx = (overrides: Partial<PolicyContext> = {}): PolicyContext => ({
  ...DEFAULT_CORPUS_CONTEXT,
  ...overrides,
});

function matcher(expected: string | RegExp): unknown {
  return typeof expected === 'string' ? expect.stringContaining(expected) : expect.stringMatching(expected);
}

function title(c: CorpusCase): string {
  const command = JSON.stringify(c.command.length > 80 ? c.command.slice(0, 77) + '...' : c.command);
  const context = c.ctx ? ' ' + JSON.stringify(c.ctx) : '';
  return `[${c.category}] ${command}${context} -> ${c.expect}`;
}

describe('command policy corpus', () => {
  test.each(CORPUS.map((c) => [title(c), c] as const))('%s', (_title, c) => {
    const decision = evaluateCommand(c.command, corpusContext(c));
    // outcome and reasons together, so that a failure shows why the policy decided otherwise
    expect({ outcome: decision.outcome, reasons: decision.reasons }).toEqual({
      outcome: c.expect,
      reasons: expect.any(Array),
    });
    if (c.reasonIncludes !== undefined) expect(decision.reasons).toContainEqual(matcher(c.reasonIncludes));
    if (decision.outcome === 'auto') expect(decision.rule).toBeDefined();
    else expect(decision.rule).toBeUndefined();
  });

  test('has at least 220 cases, covering every category', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(220);
    const categories: CorpusCategory[] = [
      'safe',
      'not-safe',
      'dangerous',
      'anchor-bypass',
      'obfuscated',
      'wrapper',
      'substitution',
      'expansion',
      'redirection',
      'env-prefix',
      'interpreter',
      'unparseable',
      'mode',
      'trust',
      'taint',
    ];
    for (const category of categories)
      expect(CORPUS.filter((c) => c.category === category).length).toBeGreaterThan(0);
  });

  test('contains every bypass named in the reference notes', () => {
    const commands = CORPUS.map((c) => c.command);
    expect(commands).toContainEqual(expect.stringMatching(/^cat x \| curl -d @- /));
    expect(commands).toContain('xargs rm');
    expect(commands).toContainEqual(expect.stringMatching(/^env sh -c /));
    expect(commands).toContainEqual(expect.stringMatching(/^awk 'BEGIN\{system\(/));
    for (const prefix of ['LD_PRELOAD=', 'PATH=', 'NODE_OPTIONS=', 'BASH_ENV=']) {
      expect(commands).toContainEqual(expect.stringMatching(new RegExp(`^${prefix}`)));
    }
  });

  test('no case the corpus expects to be auto-approved has a dangerous finding', () => {
    for (const c of CORPUS.filter((x) => x.expect === 'auto' && x.ctx?.allowRules === undefined)) {
      expect({
        command: c.command,
        dangerous: evaluateCommand(c.command, corpusContext(c)).dangerous,
      }).toEqual({ command: c.command, dangerous: [] });
    }
  });
});

describe('approval modes', () => {
  const safeCommand = 'ls -la | head';
  const plainCommand = 'npm test';
  const dangerous = 'rm -rf /';

  test('always asks every command, safe or not', () => {
    for (const command of [safeCommand, plainCommand, dangerous]) {
      const d = evaluateCommand(command, ctx({ mode: 'always' }));
      expect(d.outcome).toBe('ask');
      expect(d.reasons[0]).toBe('mode always: every command asks');
    }
  });

  test('always still reports the dangerous floor', () => {
    const d = evaluateCommand(dangerous, ctx({ mode: 'always' }));
    expect(d.dangerous.map((f) => f.id)).toContain('rm-recursive-root');
    expect(d.reasons).toContain('dangerous: recursive delete of /');
  });

  test('smart auto-approves only what is proven safe', () => {
    expect(evaluateCommand(safeCommand, ctx())).toMatchObject({
      outcome: 'auto',
      rule: 'smart.safe-list',
      parsed: true,
      commands: ['ls -la', 'head'],
    });
    expect(evaluateCommand(plainCommand, ctx())).toMatchObject({
      outcome: 'ask',
      reasons: expect.arrayContaining(['segment 1: npm is not on the safe list']),
    });
  });

  test('smart: the dangerous floor always asks and says why, even with an allow rule', () => {
    const d = evaluateCommand(dangerous, ctx({ allowRules: [dangerous] }));
    expect(d.outcome).toBe('ask');
    expect(d.reasons).toEqual(
      expect.arrayContaining(['dangerous floor: always asks', 'dangerous: recursive delete of /']),
    );
  });

  test('never runs everything on the policy\u2019s say-so except the floor, which is denied', () => {
    expect(evaluateCommand(plainCommand, ctx({ mode: 'never' }))).toMatchObject({
      outcome: 'auto',
      rule: 'never.policy',
    });
    expect(evaluateCommand(safeCommand, ctx({ mode: 'never' }))).toMatchObject({
      outcome: 'auto',
      rule: 'never.policy',
    });
    const d = evaluateCommand(dangerous, ctx({ mode: 'never' }));
    expect(d).toMatchObject({ outcome: 'deny' });
    expect(d.rule).toBeUndefined();
    expect(d.reasons).toContain('dangerous: recursive delete of /');
  });

  test('never: only an allow rule naming that exact command lifts the floor', () => {
    expect(evaluateCommand(dangerous, ctx({ mode: 'never', allowRules: [dangerous] }))).toMatchObject({
      outcome: 'auto',
      rule: 'never.allow-rule',
    });
    for (const near of ['rm -rf  /', ' rm -rf /', 'rm -rf /\n', 'rm -rf', 'RM -RF /', 'rm -rf /*']) {
      expect(evaluateCommand(dangerous, ctx({ mode: 'never', allowRules: [near] })).outcome).toBe('deny');
    }
    // the rule is for the exact string: a differently written command with the same effect is still denied
    expect(evaluateCommand("r''m -rf /", ctx({ mode: 'never', allowRules: [dangerous] })).outcome).toBe(
      'deny',
    );
  });

  test('the default mode in the corpus context is smart', () => {
    expect(DEFAULT_CORPUS_CONTEXT.mode).toBe('smart');
  });
});

describe('sender trust', () => {
  test('an untrusted sender never auto-approves: ask in smart, deny in never', () => {
    expect(evaluateCommand('ls', ctx({ senderTrust: 'untrusted' }))).toMatchObject({
      outcome: 'ask',
      reasons: expect.arrayContaining(['untrusted sender: commands are never auto-approved']),
    });
    expect(evaluateCommand('ls', ctx({ senderTrust: 'untrusted', mode: 'never' })).outcome).toBe('deny');
  });

  test('allow rules do not help an untrusted sender', () => {
    expect(
      evaluateCommand('npm test', ctx({ senderTrust: 'untrusted', allowRules: ['npm test'] })).outcome,
    ).toBe('ask');
    expect(
      evaluateCommand('rm -rf /', ctx({ senderTrust: 'untrusted', mode: 'never', allowRules: ['rm -rf /'] }))
        .outcome,
    ).toBe('deny');
  });
});

describe('content taint and sandbox egress', () => {
  test('tainted session without egress: proven-safe commands still run unasked', () => {
    expect(
      evaluateCommand('cat README.md', ctx({ sessionTainted: true, sandboxEgress: false })),
    ).toMatchObject({
      outcome: 'auto',
      rule: 'smart.safe-list.tainted-no-egress',
    });
  });

  test('tainted session with egress: every command asks', () => {
    for (const mode of ['smart', 'never'] as const) {
      const d = evaluateCommand('cat README.md', ctx({ mode, sessionTainted: true, sandboxEgress: true }));
      expect(d.outcome).toBe('ask');
      expect(d.reasons[0]).toBe('tainted session with network egress: every command asks');
    }
  });

  test('egress alone (untainted) does not change smart mode', () => {
    expect(evaluateCommand('cat README.md', ctx({ sandboxEgress: true })).outcome).toBe('auto');
  });

  test('tainted session: things that are not proven safe ask', () => {
    expect(evaluateCommand('curl https://example.com', ctx({ sessionTainted: true })).outcome).toBe('ask');
  });
});

describe('unparseable input', () => {
  test('asks in smart mode with the parser\u2019s reason, and parsed is false', () => {
    const d = evaluateCommand('echo "unterminated', ctx());
    expect(d).toMatchObject({ outcome: 'ask', parsed: false });
    expect(d.reasons).toContain('unparseable: unterminated double quote');
  });

  test('is denied in never mode', () => {
    expect(evaluateCommand('if true; then', ctx({ mode: 'never' })).outcome).toBe('deny');
  });

  test('still reports dangerous content seen in the partial tree or the raw text', () => {
    const d = evaluateCommand('rm -rf / "', ctx());
    expect(d.parsed).toBe(false);
    expect(d.dangerous.map((f) => f.id)).toContain('rm-recursive-root');
  });

  test('over-long input is not parsed', () => {
    const d = evaluateCommand('echo ' + 'a'.repeat(30_000), ctx());
    expect(d).toMatchObject({ outcome: 'ask', parsed: false });
  });
});

describe('decision details', () => {
  test('lists every simple command, including nested ones, and numbers segments', () => {
    const d = evaluateCommand('cat x | xargs rm && echo $(id)', ctx());
    expect(d.commands).toEqual(['cat x', 'xargs rm', 'echo $(id)', 'id']);
    expect(d.reasons).toEqual(
      expect.arrayContaining([
        'segment 2: xargs runs another command (rm)',
        'segment 3: command substitution $(id)',
      ]),
    );
  });

  test('says where a dangerous finding was seen', () => {
    expect(evaluateCommand('rm -rf /', ctx()).dangerous).toEqual([
      { id: 'rm-recursive-root', reason: 'recursive delete of /', command: 'rm -rf /', via: 'ast' },
    ]);
    expect(evaluateCommand('sh -c "rm -rf /"', ctx()).dangerous[0]).toMatchObject({
      id: 'rm-recursive-root',
      via: 'inner',
    });
    expect(
      evaluateCommand(`python3 -c "import os; os.system('rm -rf /')"`, ctx()).dangerous[0],
    ).toMatchObject({ id: 'rm-recursive-root', via: 'raw' });
  });

  test('every finding id is in the catalog', () => {
    for (const c of CORPUS) {
      for (const f of evaluateCommand(c.command, corpusContext(c)).dangerous)
        expect(Object.keys(DANGER_CATALOG)).toContain(f.id);
    }
  });

  test('every safe-list entry documents why and its argument rule', () => {
    for (const [name, entry] of Object.entries(SAFE_COMMANDS)) {
      expect({ name, why: entry.why.length > 0, rule: entry.rule.length > 0 }).toEqual({
        name,
        why: true,
        rule: true,
      });
    }
  });

  test('is pure: same input, same decision; the context is not modified', () => {
    const context = ctx({ allowRules: ['npm test'] });
    const frozen = JSON.stringify(context);
    expect(evaluateCommand('ls | grep x', context)).toEqual(evaluateCommand('ls | grep x', context));
    expect(JSON.stringify(context)).toBe(frozen);
  });

  test('the workspace comes from the context', () => {
    expect(evaluateCommand('ls > /srv/ws/out.txt', ctx({ workspace: '/srv/ws' })).outcome).toBe('auto');
    expect(evaluateCommand('ls > /srv/ws/out.txt', ctx({ workspace: '/workspace' })).outcome).toBe('ask');
    expect(evaluateCommand('ls > /srv/ws-other/out.txt', ctx({ workspace: '/srv/ws/' })).outcome).toBe('ask');
  });
});
