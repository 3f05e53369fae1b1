import { loadConfig } from '@palisade/config';
import { Scope } from '@palisade/contracts';
import { GatewayConfig } from '../gateway.config';
import { generateApiKey, hashApiKey, isWellFormedApiKey, lookupPrefixOf } from './core/api-key.crypto';
import { holdsScope, ScopeError, scopesForNewKey } from './core/scopes';
import { normaliseOrigin, OriginPolicy } from './origin-policy.service';
import { RateLimiter } from './rate-limiter';

describe('API key format', () => {
  test('pk_ + 32 random bytes in base64url, salted hash, short lookup prefix', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.secret).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.secret.slice(3), 'base64url')).toHaveLength(32);
    expect(isWellFormedApiKey(a.secret)).toBe(true);
    expect(a.lookupPrefix).toBe(a.secret.slice(3, 11));
    expect(lookupPrefixOf(a.secret)).toBe(a.lookupPrefix);
    expect(a.salt).not.toEqual(b.salt);
    expect(hashApiKey(a.salt, a.secret)).toEqual(a.hash);
    expect(hashApiKey(b.salt, a.secret)).not.toEqual(a.hash);
  });
});

describe('scopes', () => {
  test('admin holds every scope; the others only themselves', () => {
    expect(holdsScope([Scope.OperatorAdmin], Scope.OperatorApprovals)).toBe(true);
    expect(holdsScope([Scope.OperatorWrite], Scope.OperatorRead)).toBe(false);
    expect(holdsScope([Scope.OperatorRead], Scope.OperatorRead)).toBe(true);
  });

  test('a new key needs scopes or explicit full access; admin only through full access', () => {
    expect(() => scopesForNewKey(undefined, false)).toThrow(/operator\.read[\s\S]*operator\.pairing/);
    expect(() => scopesForNewKey([], false)).toThrow(ScopeError);
    expect(() => scopesForNewKey(['operator.admin'], false)).toThrow(/full-access/);
    expect(() => scopesForNewKey(['root'], false)).toThrow(/unknown scope/);
    expect(() => scopesForNewKey(['operator.read'], true)).toThrow(/not both/);
    expect(scopesForNewKey(undefined, true)).toEqual(['operator.admin']);
    expect(scopesForNewKey(['operator.read', ' operator.write', 'operator.read'], false)).toEqual([
      'operator.read',
      'operator.write',
    ]);
  });
});

describe('rate limiter', () => {
  test('allows perMinute at once, then answers with the wait, and refills over time', () => {
    const limiter = new RateLimiter(3);
    const t = 1_000_000;
    expect([limiter.take('k', t), limiter.take('k', t), limiter.take('k', t)]).toEqual([0, 0, 0]);
    expect(limiter.take('k', t)).toBe(20); // one token per 20 s
    expect(limiter.take('other', t)).toBe(0);
    expect(limiter.take('k', t + 20_000)).toBe(0);
  });
});

describe('origin policy', () => {
  const policy = (env: Record<string, string> = {}) =>
    new OriginPolicy(
      loadConfig(GatewayConfig, {
        PALISADE_NATS_URL: 'nats://127.0.0.1:4222',
        PALISADE_NATS_SEED_FILE: '/seed',
        PALISADE_PG_USER: 'palisade_gateway',
        PALISADE_PG_PASSWORD_FILE: '/pw',
        ...env,
      }),
    );

  test('same origin on a known host passes; other sites, rebinding, wrong scheme and junk do not', () => {
    const p = policy({ PALISADE_GATEWAY_PUBLIC_ORIGINS: 'https://agent.example.com' });
    expect(p.allows('https://localhost:18443', 'localhost:18443')).toBe(true);
    expect(p.allows('https://127.0.0.1:18443', '127.0.0.1:18443')).toBe(true);
    expect(p.allows('https://agent.example.com', 'anything')).toBe(true);
    expect(p.allows('https://AGENT.example.com:443', 'x')).toBe(true);
    expect(p.allows('https://evil.example', 'localhost:18443')).toBe(false);
    expect(p.allows('https://evil.example:18443', 'evil.example:18443')).toBe(false); // DNS rebinding
    expect(p.allows('http://localhost:18443', 'localhost:18443')).toBe(false);
    expect(p.allows('null', 'localhost:18443')).toBe(false);
    expect(p.allows(undefined, 'localhost:18443')).toBe(false);
    expect(p.allows('https://localhost:18443/path', 'localhost:18443')).toBe(false);
  });

  test('normalises origins', () => {
    expect(normaliseOrigin('HTTPS://Example.COM:443')).toBe('https://example.com');
    expect(normaliseOrigin('https://[::1]:8443')).toBe('https://[::1]:8443');
    expect(normaliseOrigin('javascript:alert(1)')).toBeUndefined();
  });

  test('PALISADE_GATEWAY_INSECURE_HTTP=false means false (not the truthy string)', () => {
    const base = {
      PALISADE_NATS_URL: 'nats://a:1',
      PALISADE_NATS_SEED_FILE: '/s',
      PALISADE_PG_USER: 'u',
      PALISADE_PG_PASSWORD_FILE: '/p',
    };
    expect(
      loadConfig(GatewayConfig, { ...base, PALISADE_GATEWAY_INSECURE_HTTP: 'false' })
        .PALISADE_GATEWAY_INSECURE_HTTP,
    ).toBe(false);
    expect(
      loadConfig(GatewayConfig, { ...base, PALISADE_GATEWAY_INSECURE_HTTP: 'true' })
        .PALISADE_GATEWAY_INSECURE_HTTP,
    ).toBe(true);
    expect(() => loadConfig(GatewayConfig, { ...base, PALISADE_GATEWAY_INSECURE_HTTP: 'yes' })).toThrow(
      /PALISADE_GATEWAY_INSECURE_HTTP/,
    );
  });
});
