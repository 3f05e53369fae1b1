import { ConfigError } from '@palisade/config';
import { modeFor, parsePolicyFile, stricterMode } from './approval-policy-config';

describe('approval mode configuration', () => {
  const config = parsePolicyFile(
    JSON.stringify({
      agents: { default: 'smart', ops: 'never', strict: 'always' },
      channels: { 'talk-main': 'always', 'talk-lab': 'never', 'talk-team': 'smart' },
      allow: ['rm -rf ~'],
    }),
    'smart',
  );

  test('the stricter of agent and channel mode wins (always > smart > never)', () => {
    expect(stricterMode('never', 'smart')).toBe('smart');
    expect(stricterMode('always', 'never')).toBe('always');
    expect(stricterMode('smart', 'smart')).toBe('smart');
    expect(modeFor(config, 'default', 'talk-main')).toBe('always'); // channel tightens
    expect(modeFor(config, 'default', 'talk-lab')).toBe('smart'); // channel cannot loosen
    expect(modeFor(config, 'ops', 'talk-lab')).toBe('never');
    expect(modeFor(config, 'ops', 'talk-team')).toBe('smart');
    expect(modeFor(config, 'strict', 'talk-lab')).toBe('always');
  });

  test('no channel, or an unconfigured one: the agent\u2019s mode; an unknown agent: the default mode', () => {
    expect(modeFor(config, 'ops', undefined)).toBe('never');
    expect(modeFor(config, 'ops', 'talk-unknown')).toBe('never');
    expect(modeFor(config, undefined, undefined)).toBe('smart'); // the default agent
    expect(modeFor({ ...config, defaultMode: 'always' }, 'someone-else', undefined)).toBe('always');
    expect(config.allow).toEqual(['rm -rf ~']);
  });

  test('an empty file object means the default mode everywhere', () => {
    const empty = parsePolicyFile('{}', 'never');
    expect(modeFor(empty, 'x', 'y')).toBe('never');
    expect(empty.allow).toEqual([]);
  });

  test.each([
    ['not json', /not valid JSON/],
    ['[]', /must hold a JSON object/],
    ['{"agent": {}}', /unknown key "agent"/],
    ['{"agents": {"a": "sometimes"}}', /agents\.a must be one of always, smart, never/],
    ['{"channels": ["talk"]}', /channels must be an object/],
    ['{"allow": "rm -rf /"}', /allow must be an array/],
    ['{"allow": [""]}', /allow must be an array of non-empty/],
  ])('refuses %s', (text, problem) => {
    expect(() => parsePolicyFile(text, 'smart')).toThrow(ConfigError);
    expect(() => parsePolicyFile(text, 'smart')).toThrow(problem);
  });
});
