import { ConfigError, loadConfig } from '@palisade/config';
import { CredentialBrokerConfig, parseBrokerEntries } from './credential-broker.config';

const ID = '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab';
const base = { PALISADE_NATS_URL: 'nats://127.0.0.1:4222', PALISADE_NATS_SEED_FILE: '/run/seed' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(CredentialBrokerConfig, { ...base, ...env });
    return [];
  } catch (error) {
    return (error as ConfigError).problems.map((p) => p.variable);
  }
}

describe('credential-broker config', () => {
  it('maps logical names to entry ids', () => {
    expect([...parseBrokerEntries(`llm-cloud=${ID}, other=${ID.toUpperCase()}`)]).toEqual([
      ['llm-cloud', ID],
      ['other', ID],
    ]);
    expect(parseBrokerEntries('').size).toBe(0);
  });

  it.each([`llm-cloud=not-a-uuid`, `Bad Name=${ID}`, `a=${ID},a=${ID}`, `a=${ID}=x`, `=${ID}`])(
    'refuses entries %s',
    (value) => {
      expect(() => parseBrokerEntries(value)).toThrow();
      expect(problems({ PALISADE_BROKER_ENTRIES: value })).toEqual(['PALISADE_BROKER_ENTRIES']);
    },
  );

  it('refuses a plain-http Passwords URL', () => {
    expect(
      problems({
        PALISADE_PASSWORDS_URL: 'http://cloud.example.org',
        PALISADE_PASSWORDS_USER: 'agent',
        PALISADE_PASSWORDS_APP_PASSWORD_FILE: '/run/pw',
      }),
    ).toEqual(['PALISADE_PASSWORDS_URL']);
  });

  it('requires the user and app password file once a URL is set, and nothing when none is', () => {
    expect(problems({ PALISADE_PASSWORDS_URL: 'https://cloud.example.org' }).sort()).toEqual([
      'PALISADE_PASSWORDS_APP_PASSWORD_FILE',
      'PALISADE_PASSWORDS_USER',
    ]);
    expect(problems({})).toEqual([]);
  });
});
