import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@palisade/config';
import { maskString } from '@palisade/telemetry';
import { loadChannels } from './channel-registry';

describe('loadChannels', () => {
  let dir: string;
  const secret = 'channel-registry-test-secret-0123456789abcdef';
  const write = (channels: unknown) => {
    writeFileSync(join(dir, 'channels.json'), JSON.stringify(channels));
    return join(dir, 'channels.json');
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'channels-registry-'));
    writeFileSync(join(dir, 'bot.secret'), `${secret}\n`, { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads each channel with its secret, normalises the base URL and masks the secret in logs', () => {
    const channels = loadChannels(
      write([
        {
          name: 'talk-main',
          kind: 'talk',
          baseUrl: 'https://cloud.example/',
          secretFile: join(dir, 'bot.secret'),
        },
      ]),
    );
    expect(channels.get('talk-main')).toEqual({
      name: 'talk-main',
      kind: 'talk',
      baseUrl: 'https://cloud.example',
      secret,
    });
    expect(maskString(`secret is ${secret}`)).not.toContain(secret);
  });

  it('refuses a group-readable secret file', () => {
    chmodSync(join(dir, 'bot.secret'), 0o640);
    expect(() =>
      loadChannels(
        write([
          {
            name: 'talk-main',
            kind: 'talk',
            baseUrl: 'https://cloud.example',
            secretFile: join(dir, 'bot.secret'),
          },
        ]),
      ),
    ).toThrow(/chmod 600/);
  });

  it.each([
    ['not an array', { name: 'x' }, /JSON array/],
    ['an unknown kind', [{ name: 'a', kind: 'matrix', baseUrl: 'https://x', secretFile: '/s' }], /kind/],
    ['a bad name', [{ name: 'A B', kind: 'talk', baseUrl: 'https://x', secretFile: '/s' }], /name/],
    ['a non-http base URL', [{ name: 'a', kind: 'talk', baseUrl: 'ftp://x', secretFile: '/s' }], /baseUrl/],
    [
      'an unknown field',
      [{ name: 'a', kind: 'talk', baseUrl: 'https://x', secretFile: '/s', secret: 'inline' }],
      /secret/,
    ],
  ])('refuses %s', (_name, content, problem) => {
    let error: unknown;
    try {
      loadChannels(write(content));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(problem);
  });

  it('refuses duplicate names and a missing file setting', () => {
    const entry = { name: 'a', kind: 'talk', baseUrl: 'https://x', secretFile: join(dir, 'bot.secret') };
    expect(() => loadChannels(write([entry, entry]))).toThrow(/duplicate channel a/);
    expect(() => loadChannels('')).toThrow(ConfigError);
  });
});
