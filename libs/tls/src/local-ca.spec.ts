import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:tls';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalCa, issueServerCertificate } from './index';

describe('local CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-ca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues a server certificate that a client trusting only ca.crt verifies for its address', async () => {
    const ca = ensureLocalCa(join(dir, 'tls'));
    expect(statSync(ca.dir).mode & 0o777).toBe(0o700);
    expect(statSync(ca.caKeyPath).mode & 0o777).toBe(0o600);
    const cert = issueServerCertificate(ca, 'nats', ['127.0.0.1', 'localhost', '10.70.1.20']);
    expect(statSync(cert.keyPath).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(readFileSync(cert.certPath)).subjectAltName).toContain('IP Address:10.70.1.20');
    const server = createServer({ cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) }, (s) => s.end('hi\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const talk = (options: object) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ...options }, () => undefined);
        let data = '';
        socket.on('data', (c) => (data += c));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    try {
      expect(await talk({ ca: readFileSync(ca.caCertPath) })).toBe('hi\n');
      await expect(talk({})).rejects.toThrow(/certificate/i); // not trusted without the CA
      await expect(talk({ ca: readFileSync(ca.caCertPath), servername: 'evil.example' })).rejects.toThrow(/altnames|not in the cert/i);
    } finally {
      server.close();
    }
  });

  it('keeps a fresh certificate, reissues when the names change or it nears expiry', () => {
    const ca = ensureLocalCa(join(dir, 'tls2'));
    const first = issueServerCertificate(ca, 'channels', ['10.70.1.20']);
    const again = issueServerCertificate(ca, 'channels', ['10.70.1.20']);
    expect(readFileSync(again.certPath, 'utf8')).toBe(readFileSync(first.certPath, 'utf8'));
    const before = readFileSync(first.certPath, 'utf8');
    issueServerCertificate(ca, 'channels', ['10.70.1.20', 'agent.example']);
    expect(readFileSync(first.certPath, 'utf8')).not.toBe(before);
    const renamed = readFileSync(first.certPath, 'utf8');
    issueServerCertificate(ca, 'channels', ['10.70.1.20', 'agent.example'], { now: new Date(Date.now() + 80 * 86_400_000) });
    expect(readFileSync(first.certPath, 'utf8')).not.toBe(renamed);
    expect(() => issueServerCertificate(ca, '../x', [])).toThrow(/certificate name/);
  });
});
