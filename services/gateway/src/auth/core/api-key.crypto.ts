// API key format and hashing. A key is `pk_` + 32 random bytes in base64url (43 characters). The
// first LOOKUP_PREFIX_LENGTH characters after `pk_` are stored in clear to find the candidate row;
// the whole key is stored only as SHA-256(salt ‖ key) with a per-key random salt. Keys carry 256 bits
// of entropy, so a fast hash is enough (no password-style stretching needed on every request).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'pk_';
export const LOOKUP_PREFIX_LENGTH = 8;
const KEY_PATTERN = /^pk_[A-Za-z0-9_-]{43}$/;

export interface NewApiKey {
  /** Shown once to the operator; never stored, logged or put in an event. */
  secret: string;
  lookupPrefix: string;
  salt: Buffer;
  hash: Buffer;
}

export function generateApiKey(): NewApiKey {
  const secret = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  return { secret, lookupPrefix: lookupPrefixOf(secret), salt, hash: hashApiKey(salt, secret) };
}

export function isWellFormedApiKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

export function lookupPrefixOf(secret: string): string {
  return secret.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + LOOKUP_PREFIX_LENGTH);
}

export function hashApiKey(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

/** Constant-time equality of two digests of the same length. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
