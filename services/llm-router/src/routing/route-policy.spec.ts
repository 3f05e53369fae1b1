import { decideRoute, type RouteInput } from './route-policy';

const clean: RouteInput = {
  trust: 'trusted',
  tainted: false,
  sensitive: false,
  messages: [{ content: 'what is the weather like today?' }],
};

describe('decideRoute', () => {
  it('sends a trusted, clean turn to the cloud when one is configured', () => {
    expect(decideRoute(clean, true)).toEqual({ route: 'cloud', reason: 'cloud: trusted, clean turn' });
  });

  it('keeps a trusted, clean turn local when no cloud is configured', () => {
    expect(decideRoute(clean, false)).toEqual({
      route: 'local',
      reason: 'local: no cloud provider configured',
    });
  });

  it.each([
    ['untrusted sender', { trust: 'untrusted' as const }, 'local: untrusted sender'],
    ['tainted session', { tainted: true }, 'local: session tainted by untrusted content'],
    ['sensitive context', { sensitive: true }, 'local: sensitive content in context'],
  ])('keeps a %s local', (_name, patch, reason) => {
    expect(decideRoute({ ...clean, ...patch }, true)).toEqual({ route: 'local', reason });
  });

  it.each([
    'my key is sk-proj-abcdefghijklmnopqrstuvwxyz012345',
    'export DB_PASSWORD=hunter2hunter2',
    'token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
    '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----',
    'curl -H "Authorization: Bearer abcdefghijklmnop1234"',
  ])('keeps a trusted turn local when a message holds a secret: %s', (text) => {
    const input = { ...clean, messages: [...clean.messages, { content: text }] };
    expect(decideRoute(input, true)).toEqual({ route: 'local', reason: 'local: secret detected in context' });
  });

  it('looks into tool-call arguments too', () => {
    const input: RouteInput = {
      ...clean,
      messages: [
        ...clean.messages,
        {
          content: '',
          toolCalls: [{ id: 'c1', name: 'exec', arguments: { command: 'mysql --password=s3cr3tpass' } }],
        },
      ],
    };
    expect(decideRoute(input, true).route).toBe('local');
  });
});
