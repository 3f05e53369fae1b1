// Ed25519 key handling shared by the ledger (checkpoints) and approvals / sandbox-exec (grants).
// Keys are Node KeyObjects; on disk they are PEM (PKCS#8 private, SPKI public), and a private key
// file is written with mode 0600 because it is a secret.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI), RFC 8410.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function assertEd25519(key: KeyObject, kind: 'private' | 'public'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== kind) {
    throw new TypeError(
      `expected an Ed25519 ${kind} key, got ${key.asymmetricKeyType ?? key.type} ${key.type}`,
    );
  }
  return key;
}

function toBytes(value: Buffer | string, name: string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'hex') : value;
  if (bytes.length !== 32 || (typeof value === 'string' && !/^[0-9a-fA-F]{64}$/.test(value))) {
    throw new TypeError(`${name} must be 32 bytes (64 hex digits)`);
  }
  return bytes;
}

export function generateEd25519KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/** Private key from its 32-byte seed (Buffer or hex), as in RFC 8032 test vectors. */
export function ed25519PrivateKeyFromSeed(seed: Buffer | string): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, toBytes(seed, 'seed')]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** Public key from its raw 32 bytes (Buffer or hex). */
export function ed25519PublicKeyFromRaw(raw: Buffer | string): KeyObject {
  const der = Buffer.concat([SPKI_ED25519_PREFIX, toBytes(raw, 'public key')]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/** The raw 32-byte public key (of a public key, or derived from a private key). */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const publicKey =
    key.type === 'private' ? createPublicKey(assertEd25519(key, 'private')) : assertEd25519(key, 'public');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

/** keyid: hex SHA-256 of the raw Ed25519 public key (contracts: checkpoint `keyid`). */
export function keyIdOf(key: KeyObject): string {
  return createHash('sha256').update(rawEd25519PublicKey(key)).digest('hex');
}

export function ed25519PublicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(assertEd25519(privateKey, 'private'));
}

export function privateKeyFromPem(pem: string | Buffer): KeyObject {
  return assertEd25519(createPrivateKey(pem), 'private');
}

/** Accepts an SPKI public key PEM (a private key PEM is refused, so it is never mistaken). */
export function publicKeyFromPem(pem: string | Buffer): KeyObject {
  const text = pem.toString();
  if (/PRIVATE KEY/.test(text)) throw new TypeError('expected a public key PEM, got a private key');
  return assertEd25519(createPublicKey(text), 'public');
}

export function privateKeyToPem(key: KeyObject): string {
  return assertEd25519(key, 'private').export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function publicKeyToPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? ed25519PublicKeyOf(key) : assertEd25519(key, 'public');
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

export function readPrivateKeyFile(path: string): KeyObject {
  return privateKeyFromPem(readFileSync(path));
}

export function readPublicKeyFile(path: string): KeyObject {
  return publicKeyFromPem(readFileSync(path));
}

/** Writes a private key PEM with mode 0600; refuses to overwrite unless `overwrite` is set. */
export function writePrivateKeyFile(path: string, key: KeyObject, overwrite = false): void {
  writeFileSync(path, privateKeyToPem(key), { mode: 0o600, flag: overwrite ? 'w' : 'wx' });
}

export function writePublicKeyFile(path: string, key: KeyObject, overwrite = false): void {
  writeFileSync(path, publicKeyToPem(key), { mode: 0o644, flag: overwrite ? 'w' : 'wx' });
}
