import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointPayload, createSignedCheckpoint, signCheckpoint, verifyCheckpoint } from './checkpoint';
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyFromRaw,
  generateEd25519KeyPair,
  keyIdOf,
} from './ed25519-keys';

const vector = JSON.parse(readFileSync(join(__dirname, '../test-vectors/checkpoint.json'), 'utf8')) as {
  key: { seedHex: string; publicKeyHex: string };
  keyid: string;
  checkpoint: { seq: number; hash: string; time: string; keyid: string };
  payload: string;
  signatureBase64: string;
};
const chainVector = JSON.parse(readFileSync(join(__dirname, '../test-vectors/hash-chain.json'), 'utf8')) as {
  rows: { hash: string }[];
};

const privateKey = ed25519PrivateKeyFromSeed(vector.key.seedHex);
const publicKey = ed25519PublicKeyFromRaw(vector.key.publicKeyHex);

describe('checkpoint test vector (computed independently in Python, checked with openssl)', () => {
  it('derives the public key and keyid from the seed', () => {
    expect(keyIdOf(privateKey)).toBe(vector.keyid);
    expect(keyIdOf(publicKey)).toBe(vector.keyid);
  });

  it('covers the head of the hash-chain vector', () => {
    expect(vector.checkpoint.hash).toBe(chainVector.rows[chainVector.rows.length - 1].hash);
  });

  it('reproduces the payload and the signature', () => {
    expect(checkpointPayload(vector.checkpoint)).toBe(vector.payload);
    expect(signCheckpoint(privateKey, vector.checkpoint)).toBe(vector.signatureBase64);
    expect(verifyCheckpoint(publicKey, vector.checkpoint, vector.signatureBase64)).toBe(true);
  });

  it('refuses any change to the checkpoint or signature', () => {
    const sig = vector.signatureBase64;
    expect(verifyCheckpoint(publicKey, { ...vector.checkpoint, seq: 4 }, sig)).toBe(false);
    expect(verifyCheckpoint(publicKey, { ...vector.checkpoint, hash: '0'.repeat(64) }, sig)).toBe(false);
    expect(verifyCheckpoint(publicKey, { ...vector.checkpoint, time: '2024-07-15T10:31:06.000Z' }, sig)).toBe(
      false,
    );
    const flipped = Buffer.from(sig, 'base64');
    flipped[10] ^= 1;
    expect(verifyCheckpoint(publicKey, vector.checkpoint, flipped.toString('base64'))).toBe(false);
    expect(verifyCheckpoint(publicKey, vector.checkpoint, 'not base64')).toBe(false);
    expect(verifyCheckpoint(publicKey, { ...vector.checkpoint, seq: -1 }, sig)).toBe(false);
  });

  it('refuses a valid signature by another key, and a keyid naming another key', () => {
    const other = generateEd25519KeyPair();
    const forged = createSignedCheckpoint(other.privateKey, 3, vector.checkpoint.hash);
    expect(verifyCheckpoint(other.publicKey, forged, forged.signature)).toBe(true);
    expect(verifyCheckpoint(publicKey, forged, forged.signature)).toBe(false);
    // Same key, checkpoint claims the other key's id:
    expect(() => signCheckpoint(privateKey, { ...vector.checkpoint, keyid: forged.keyid })).toThrow(/keyid/);
  });

  it('signs only {seq, hash, time, keyid}: extra properties do not enter the payload', () => {
    const withExtra = { ...vector.checkpoint, note: 'x' } as typeof vector.checkpoint;
    expect(checkpointPayload(withExtra)).toBe(vector.payload);
  });
});
