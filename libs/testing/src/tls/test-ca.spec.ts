import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from './test-ca';

describe('createTestCa', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'palisade-test-ca-spec-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a CA and a loopback server certificate it signed, files mode 600', async () => {
    const ca = await createTestCa(join(dir, 'ca'), { extraSans: ['passwords.test', '10.1.2.3'] });
    for (const f of [ca.caCertPath, ca.caKeyPath, ca.certPath, ca.keyPath]) {
      expect((await stat(f)).mode & 0o777).toBe(0o600);
    }
    expect((await stat(ca.dir)).mode & 0o777).toBe(0o700);

    const caCert = new X509Certificate(ca.caCert);
    const cert = new X509Certificate(ca.cert);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('passwords.test')).toBe('passwords.test');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(cert.checkHost('example.org')).toBeUndefined();
    expect(ca.key).toContain('PRIVATE KEY');
    expect(ca.sans).toEqual(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'DNS:passwords.test', 'IP:10.1.2.3']);
  });
});
