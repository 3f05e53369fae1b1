import { createHash } from 'node:crypto';
import {
  containsSecret,
  detectSecrets,
  digestReplacement,
  knownSecretVariants,
  redactSecrets,
  redactSecretsDeep,
} from './secrets';

// Fake credentials of the right shapes (not real keys).
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const GITHUB = `ghp_${'a1B2c3D4e5'.repeat(4).slice(0, 36)}`;
const GITLAB = 'glpat-abcdefghij0123456789';
const SLACK = 'xoxb-123456789012-123456789012-abcdefghijkl';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const OPENAI = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const STRIPE = 'pk_live_51HaBcDeFgHiJkLmNoPqRsTu';
const PEM =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAA\n-----END OPENSSH PRIVATE KEY-----';

describe('secret detectors', () => {
  it.each([
    ['private key', `key:\n${PEM}\ndone`, PEM],
    [
      'unterminated private key',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow',
    ],
    ['AWS access key', `aws configure set aws_access_key_id ${AWS}`, AWS],
    ['GitHub token', `git clone https://x:${GITHUB}@github.com/o/r`, GITHUB],
    ['GitLab token', `PRIVATE-TOKEN ${GITLAB}`, GITLAB],
    ['Slack token', `curl -d token=${SLACK}`, SLACK],
    ['JWT', `cookie ${JWT}`, JWT],
    ['OpenAI key', `OPENAI ${OPENAI}`, OPENAI],
    ['Stripe key', `stripe ${STRIPE}`, STRIPE],
    ['bearer token', 'curl -H "Authorization: Bearer abcdefghijklmnop123456" x', 'abcdefghijklmnop123456'],
    ['password assignment', 'mysql --host db password=hunter2xyz', 'hunter2xyz'],
    ['secret: yaml', 'client_secret: s3cr3t-value', 's3cr3t-value'],
    ['quoted JSON value', '{"apiKey": "k with spaces"}', 'k with spaces'],
    ['env assignment', "DB_PASSWORD='pa ss' ./run", 'pa ss'],
    ['flag with space', 'tool --password hunter2xyz --verbose', 'hunter2xyz'],
    ['URL password', 'psql postgres://app:Sup3rS3cret@db:5432/app', 'Sup3rS3cret'],
    ['Nextcloud app password', 'app password Ab3dE-fGh1J-kLm2N-oPq3R-sTu4V', 'Ab3dE-fGh1J-kLm2N-oPq3R-sTu4V'],
  ])('redacts a %s', (_what, text, secret) => {
    expect(containsSecret(text)).toBe(true);
    const out = redactSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED:');
  });

  it('keeps the name of an assignment and the rest of the command visible', () => {
    expect(redactSecrets('export PASSWORD=hunter2xyz && make')).toBe(
      'export PASSWORD=[REDACTED:secret_assignment] && make',
    );
    expect(redactSecrets('curl -H "Authorization: Bearer abcdefghijklmnop123456" https://api')).toBe(
      'curl -H "Authorization: Bearer [REDACTED:bearer_token]" https://api',
    );
  });

  it('leaves ordinary commands, ids, hashes and variable references alone', () => {
    for (const text of [
      'ls -la /srv && git status --short',
      'docker run sha256:' + 'ab'.repeat(32),
      'id 0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80',
      'PASSWORD=$DB_PASSWORD ./run',
      'echo "the password is needed"',
      'npm install sk-learn',
    ]) {
      expect(detectSecrets(text)).toEqual([]);
      expect(redactSecrets(text)).toBe(text);
    }
  });

  it('stays linear on long word-character runs', () => {
    const text = 'a_'.repeat(50_000);
    const started = Date.now();
    redactSecrets(text);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('known secrets', () => {
  const secret = 'correct horse battery staple';
  const bytes = Buffer.from(secret);

  it('redacts the raw value, hex (both cases), URL and JSON escaped forms', () => {
    const text = [
      `raw ${secret}`,
      `hex ${bytes.toString('hex')}`,
      `HEX ${bytes.toString('hex').toUpperCase()}`,
      `url ${encodeURIComponent(secret)}`,
    ].join('\n');
    const out = redactSecrets(text, [secret]);
    expect(out).not.toContain(secret);
    expect(out).not.toContain(bytes.toString('hex'));
    expect(out).not.toContain(bytes.toString('hex').toUpperCase());
    expect(out).not.toContain(encodeURIComponent(secret));
    expect(out.match(/\[REDACTED:known_secret\]/g)).toHaveLength(4);
  });

  it.each([0, 1, 2])(
    'redacts base64 of the secret embedded at byte offset ≡ %i (mod 3), std and url-safe',
    (k) => {
      const prefix = Buffer.from('user:pass-'.slice(0, 3 + k)); // 3 + k bytes: offset ≡ k (mod 3)
      const embedded = Buffer.concat([prefix, bytes, Buffer.from('!?')]);
      for (const encoding of ['base64', 'base64url'] as const) {
        const encoded = embedded.toString(encoding);
        // Misaligned (k > 0): the plain encoding of the secret does not occur in the text.
        if (k > 0) expect(encoded).not.toContain(bytes.toString(encoding).slice(0, 8));
        const out = redactSecrets(`X ${encoded}`, [secret]);
        const parts = out.slice(2).split('[REDACTED:known_secret]');
        expect(parts).toHaveLength(2);
        // Only characters that also carry prefix or suffix bits survive: at most one partial char of
        // the secret on each side.
        expect(parts[0].length).toBeLessThanOrEqual(Math.ceil((prefix.length * 8) / 6));
        expect(parts[1].length).toBeLessThanOrEqual(Math.ceil((2 * 8) / 6) + 3);
      }
    },
  );

  it('lists variants and ignores secrets too short to redact safely', () => {
    const variants = knownSecretVariants(secret);
    expect(variants[0]).toBe(secret);
    expect(variants).toContain(bytes.toString('base64'));
    expect(variants).toContain(bytes.toString('hex'));
    expect(knownSecretVariants('abc')).toEqual([]);
    expect(redactSecrets('abc abc', ['abc'])).toBe('abc abc');
  });
});

describe('digest replacement and deep redaction', () => {
  it('replaces by a stable digest that does not contain the value', () => {
    const out = redactSecrets(`t ${AWS}`, [], { replace: digestReplacement });
    const digest = createHash('sha256').update(AWS).digest('hex').slice(0, 16);
    expect(out).toBe(`t [REDACTED:aws_access_key_id:sha256:${digest}]`);
  });

  it('redacts every string of a JSON value, and whole values under secret-named keys', () => {
    const value = {
      command: `deploy --token ${GITHUB}`,
      env: { API_TOKEN: 'plain-looking', HOME: '/root', db_password: 'x' },
      list: [`key ${AWS}`, 3, true, null],
    };
    const out = redactSecretsDeep(value);
    const text = JSON.stringify(out);
    expect(text).not.toContain(GITHUB);
    expect(text).not.toContain('plain-looking');
    expect(text).not.toContain(AWS);
    expect(out.env.HOME).toBe('/root');
    expect(out.env.db_password).toBe('[REDACTED:secret_field]');
    expect(out.list.slice(1)).toEqual([3, true, null]);
    expect(value.env.API_TOKEN).toBe('plain-looking'); // input untouched
  });
});
