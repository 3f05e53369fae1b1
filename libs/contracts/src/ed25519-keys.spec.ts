import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyOf,
  generateEd25519KeyPair,
  keyIdOf,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyFromPem,
  publicKeyToPem,
  rawEd25519PublicKey,
  readPrivateKeyFile,
  readPublicKeyFile,
  writePrivateKeyFile,
  writePublicKeyFile,
} from './ed25519-keys';

describe('Ed25519 keys', () => {
  it('builds the RFC 8032 TEST 1 key from its seed', () => {
    const key = ed25519PrivateKeyFromSeed('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(rawEd25519PublicKey(key).toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    // RFC 8032 TEST 1 signature of the empty message.
    expect(sign(null, Buffer.alloc(0), key).toString('hex').slice(0, 32)).toBe(
      'e5564300c360ac729086e2cc806e828a',
    );
    expect(() => ed25519PrivateKeyFromSeed('abcd')).toThrow(/32 bytes/);
  });

  it('round-trips through PEM and refuses other key types', () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const priv = privateKeyFromPem(privateKeyToPem(privateKey));
    const pub = publicKeyFromPem(publicKeyToPem(publicKey));
    expect(keyIdOf(pub)).toBe(keyIdOf(privateKey));
    expect(publicKeyToPem(priv)).toBe(publicKeyToPem(publicKey));
    const sig = sign(null, Buffer.from('m'), priv);
    expect(verify(null, Buffer.from('m'), ed25519PublicKeyOf(priv), sig)).toBe(true);
    expect(() => publicKeyFromPem(privateKeyToPem(privateKey))).toThrow(/private/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => privateKeyFromPem(ec.privateKey.export({ format: 'pem', type: 'pkcs8' }))).toThrow(
      /Ed25519/,
    );
  });

  it('writes the private key file with mode 0600 and never overwrites by default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-keys-'));
    try {
      const { privateKey, publicKey } = generateEd25519KeyPair();
      const path = join(dir, 'ledger.key');
      writePrivateKeyFile(path, privateKey);
      writePublicKeyFile(join(dir, 'ledger.pub'), publicKey);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(keyIdOf(readPrivateKeyFile(path))).toBe(keyIdOf(readPublicKeyFile(join(dir, 'ledger.pub'))));
      expect(() => writePrivateKeyFile(path, privateKey)).toThrow(/EEXIST/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
