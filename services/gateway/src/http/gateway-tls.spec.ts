import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@palisade/config';
import { GatewayConfig } from '../gateway.config';
import { gatewayListen, loadTlsMaterial } from './gateway-tls';
import { issueCertificate } from '@palisade/tls';

const config = (over: Partial<GatewayConfig> = {}): GatewayConfig =>
  Object.assign(new GatewayConfig(), {
    PALISADE_GATEWAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-tls-')),
    ...over,
  });

describe('x509 builder', () => {
  test('issues a CA and a leaf that Node verifies, with DNS and IPv4/IPv6 names', () => {
    const ca = issueCertificate({ commonName: 'Test CA', days: 10, isCa: true });
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    const { createPrivateKey } = require('node:crypto') as typeof import('node:crypto');
    const leaf = issueCertificate({
      commonName: 'host',
      days: 5,
      isCa: false,
      sans: ['localhost', 'host.example', '127.0.0.1', '::1', 'fd00::2', '::ffff:192.0.2.1'],
      issuer: { commonName: 'Test CA', privateKey: createPrivateKey(ca.keyPem), publicKey: caCert.publicKey },
    });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:localhost, DNS:host.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:2, IP Address:0:0:0:0:0:FFFF:C000:201',
    );
    expect(cert.checkHost('host.example')).toBe('host.example');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(Math.round((new Date(cert.validTo).getTime() - Date.now()) / 86_400_000)).toBe(5);
  });
});

describe('gateway TLS material', () => {
  test('generates a local CA and server certificate in mode-600 files, reuses them, and serves TLS clients that trust the CA', async () => {
    const c = config({ PALISADE_GATEWAY_TLS_SANS: 'agent.lan,10.9.8.7' });
    const first = loadTlsMaterial(c);
    const dir = join(c.PALISADE_GATEWAY_DATA_DIR, 'tls');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['ca.key', 'ca.crt', 'server.key', 'server.crt'])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(loadTlsMaterial(c).cert).toBe(first.cert); // nothing to renew
    const leaf = new X509Certificate(readFileSync(join(dir, 'server.crt')));
    expect(leaf.checkHost('agent.lan')).toBe('agent.lan');
    expect(leaf.checkIP('10.9.8.7')).toBe('10.9.8.7');

    const server = createServer({ key: first.key, cert: first.cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const s = connect(
        { host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(first.caCertPath!) },
        () => {
          resolve(s.authorized);
          s.end();
        },
      );
      s.on('error', reject);
    });
    server.close();
    expect(authorized).toBe(true);
  });

  test('renews the server certificate inside the renewal window, and when a wanted name is missing', () => {
    const c = config();
    const first = loadTlsMaterial(c);
    expect(loadTlsMaterial(c, new Date(Date.now() + 65 * 86_400_000)).cert).not.toBe(first.cert);
    const again = loadTlsMaterial(c);
    const withName = loadTlsMaterial(Object.assign(c, { PALISADE_GATEWAY_TLS_SANS: 'new.name' }));
    expect(withName.cert).not.toBe(again.cert);
  });

  test('uses operator-supplied files, refusing a key that does not match or is readable by others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-op-'));
    const a = issueCertificate({ commonName: 'a', days: 3, isCa: true });
    const b = issueCertificate({ commonName: 'b', days: 3, isCa: true });
    writeFileSync(join(dir, 'a.crt'), a.certPem);
    writeFileSync(join(dir, 'a.key'), a.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'b.key'), b.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'open.key'), a.keyPem, { mode: 0o644 });
    const ok = loadTlsMaterial(
      config({
        PALISADE_GATEWAY_TLS_CERT_FILE: join(dir, 'a.crt'),
        PALISADE_GATEWAY_TLS_KEY_FILE: join(dir, 'a.key'),
      }),
    );
    expect(ok.source).toBe('operator');
    expect(() =>
      loadTlsMaterial(
        config({
          PALISADE_GATEWAY_TLS_CERT_FILE: join(dir, 'a.crt'),
          PALISADE_GATEWAY_TLS_KEY_FILE: join(dir, 'b.key'),
        }),
      ),
    ).toThrow(/does not belong/);
    expect(() =>
      loadTlsMaterial(
        config({
          PALISADE_GATEWAY_TLS_CERT_FILE: join(dir, 'a.crt'),
          PALISADE_GATEWAY_TLS_KEY_FILE: join(dir, 'open.key'),
        }),
      ),
    ).toThrow(/chmod 600/);
    expect(() => loadTlsMaterial(config({ PALISADE_GATEWAY_TLS_CERT_FILE: join(dir, 'a.crt') }))).toThrow(
      ConfigError,
    );
  });

  test('HTTPS by default; plain HTTP only on loopback and only when enabled', () => {
    expect(gatewayListen(config()).httpsOptions).toBeDefined();
    expect(gatewayListen(config({ PALISADE_GATEWAY_INSECURE_HTTP: true })).httpsOptions).toBeUndefined();
    expect(() =>
      gatewayListen(config({ PALISADE_GATEWAY_INSECURE_HTTP: true, PALISADE_GATEWAY_HOST: '0.0.0.0' })),
    ).toThrow(/only on a loopback address/);
    expect(() =>
      gatewayListen(config({ PALISADE_GATEWAY_INSECURE_HTTP: true, PALISADE_GATEWAY_HOST: '192.0.2.2' })),
    ).toThrow(ConfigError);
  });
});
