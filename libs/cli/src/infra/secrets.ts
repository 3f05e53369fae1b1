// Generates every secret the local installation needs, once. Files are mode 600 in a mode 700 tree;
// existing secrets are never overwritten (re-running is safe), so rotating means deleting a file first.
import { createUser, fromSeed } from '@nats-io/nkeys';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NATS_PRINCIPALS } from '@palisade/nats';
import { keyFile, natsSeedFile, palisadeHome, pgPasswordFile, publicKeyFile, secretsDir } from '../paths';

export const PG_ROLES = [
  'postgres', // the cluster superuser: used by setup only
  'palisade_gateway',
  'palisade_approvals',
  'palisade_channels',
  'palisade_cron',
  'palisade_ledger',
  'palisade_auditor',
] as const;

/** Ed25519 keys: ledger checkpoints, approval grants. */
export const SIGNING_KEYS = ['ledger-checkpoint', 'approvals-grant'] as const;

function writeSecret(path: string, content: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  return true;
}

export function ensureSecrets(home = palisadeHome()): string[] {
  mkdirSync(secretsDir(home), { recursive: true, mode: 0o700 });
  chmodSync(secretsDir(home), 0o700);
  const created: string[] = [];
  for (const user of NATS_PRINCIPALS) {
    const seed = new TextDecoder().decode(createUser().getSeed());
    if (writeSecret(natsSeedFile(user, home), seed + '\n')) created.push(`nats/${user}`);
  }
  for (const role of PG_ROLES) {
    if (writeSecret(pgPasswordFile(role, home), randomBytes(24).toString('base64url') + '\n')) created.push(`pg/${role}`);
  }
  for (const name of SIGNING_KEYS) {
    if (existsSync(keyFile(name, home))) continue;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeSecret(keyFile(name, home), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    // Public keys are not secret, but live beside the private key; other services get a copy path.
    writeFileSync(publicKeyFile(name, home), publicKey.export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
    created.push(`keys/${name}`);
  }
  return created;
}

export function publicNkeyOf(user: string, home = palisadeHome()): string {
  const seed = readFileSync(natsSeedFile(user, home), 'utf8').trim();
  return fromSeed(new TextEncoder().encode(seed)).getPublicKey();
}
