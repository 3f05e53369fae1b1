// Signed ledger checkpoints (contracts: "Checkpoint"). The signature covers the JCS text of
// {seq, hash, time, keyid}, so any verifier with the public key can check a checkpoint off the box
// with nothing but an RFC 8785 implementation and Ed25519.
import { type KeyObject, sign, verify } from 'node:crypto';
import { keyIdOf } from './ed25519-keys';
import { jcs } from './jcs';
import { isRfc3339Utc } from './rfc3339';

export interface Checkpoint {
  /** Ledger sequence number covered (inclusive). */
  seq: number;
  /** Chain hash of that row. */
  hash: string;
  /** RFC 3339 UTC time of signing. */
  time: string;
  /** keyIdOf(the signing key's public key). */
  keyid: string;
}

export interface SignedCheckpoint extends Checkpoint {
  /** Standard base64 Ed25519 signature over checkpointPayload(). */
  signature: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function assertCheckpoint(c: Checkpoint): void {
  if (!Number.isSafeInteger(c.seq) || c.seq < 1)
    throw new TypeError('checkpoint seq must be a positive safe integer');
  if (!HEX64.test(c.hash)) throw new TypeError('checkpoint hash must be 64 lower-case hex digits');
  if (!isRfc3339Utc(c.time)) throw new TypeError('checkpoint time must be RFC 3339 UTC');
  if (!HEX64.test(c.keyid)) throw new TypeError('checkpoint keyid must be 64 lower-case hex digits');
}

/** The exact text signed: JCS({seq, hash, time, keyid}) — extra properties are left out. */
export function checkpointPayload(checkpoint: Checkpoint): string {
  assertCheckpoint(checkpoint);
  const { seq, hash, time, keyid } = checkpoint;
  return jcs({ seq, hash, time, keyid });
}

/** Base64 Ed25519 signature of checkpointPayload(); `keyid` must be this key's. */
export function signCheckpoint(privateKey: KeyObject, checkpoint: Checkpoint): string {
  if (checkpoint.keyid !== keyIdOf(privateKey))
    throw new TypeError("checkpoint keyid is not the signing key's");
  return sign(null, Buffer.from(checkpointPayload(checkpoint), 'utf8'), privateKey).toString('base64');
}

/** Builds and signs a checkpoint for (seq, hash) with `keyid` filled from the key. */
export function createSignedCheckpoint(
  privateKey: KeyObject,
  seq: number,
  hash: string,
  time: Date = new Date(),
): SignedCheckpoint {
  const checkpoint: Checkpoint = { seq, hash, time: time.toISOString(), keyid: keyIdOf(privateKey) };
  return { ...checkpoint, signature: signCheckpoint(privateKey, checkpoint) };
}

/**
 * True only if `signature` is a valid Ed25519 signature by `publicKey` over the checkpoint AND the
 * checkpoint's keyid names that key. Malformed input gives false, never an exception.
 */
export function verifyCheckpoint(publicKey: KeyObject, checkpoint: Checkpoint, signature: string): boolean {
  try {
    if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
    if (checkpoint.keyid !== keyIdOf(publicKey)) return false;
    return verify(
      null,
      Buffer.from(checkpointPayload(checkpoint), 'utf8'),
      publicKey,
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}
