// TLS for the gateway: on by default. Either the operator's own certificate (config), or a local CA
// generated on first start plus a server certificate it signs (SANs: localhost, loopback addresses,
// this host's name, the listen address and configured names/IPs), renewed before it expires.
// Everything lives under <data dir>/tls: the directory mode 700, every file mode 600.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { ConfigError, readSecretFile } from '@palisade/config';
import type { HttpListen } from '@palisade/nats';
import { listOf } from '../auth/auth.config';
import type { GatewayConfig } from '../gateway.config';
import { issueCertificate } from '@palisade/tls';

const CA_DAYS = 3650;
const SERVER_DAYS = 90;

export interface TlsMaterial {
  source: 'local-ca' | 'operator';
  key: string;
  /** Server certificate followed by its chain. */
  cert: string;
  notAfter: Date;
  /** Local CA certificate path (give it to clients), when generated here. */
  caCertPath?: string;
  /** Operator files' modification times (reloaded when they change). */
  mtimes?: number[];
}

export function isLoopbackHost(host: string): boolean {
  return (
    host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1'
  );
}

export function tlsDir(config: GatewayConfig): string {
  return join(config.PALISADE_GATEWAY_DATA_DIR, 'tls');
}

/** Names the generated certificate must carry. */
export function wantedSans(config: GatewayConfig): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname()];
  const host = config.PALISADE_GATEWAY_HOST;
  if (host && host !== '0.0.0.0' && host !== '::') names.push(host);
  names.push(...listOf(config.PALISADE_GATEWAY_TLS_SANS));
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

function write600(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, '').toLowerCase());
}

const normaliseIp = (n: string) => (isIP(n) === 6 ? new URL(`http://[${n}]`).hostname.slice(1, -1) : n);

/** True if the certificate is missing, expires within `renewDays`, lacks a wanted name or another CA signed it. */
function needsIssue(
  certPath: string,
  keyPath: string,
  ca: X509Certificate,
  wanted: string[],
  renewDays: number,
  now: Date,
): boolean {
  if (!existsSync(certPath) || !existsSync(keyPath)) return true;
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    if (new Date(cert.validTo).getTime() - now.getTime() < renewDays * 86_400_000) return true;
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return true;
    const have = new Set(sansOf(cert).map(normaliseIp));
    return !wanted.every((n) => have.has(normaliseIp(n)));
  } catch {
    return true;
  }
}

/**
 * Loads the operator's certificate, or makes sure the local CA and a fresh server certificate exist.
 * `now` is the moment renewal is judged for; new certificates are always issued from the real clock.
 */
export function loadTlsMaterial(config: GatewayConfig, now = new Date()): TlsMaterial {
  const certFile = config.PALISADE_GATEWAY_TLS_CERT_FILE;
  const keyFile = config.PALISADE_GATEWAY_TLS_KEY_FILE;
  if (certFile || keyFile) {
    if (!certFile || !keyFile) {
      throw new ConfigError([
        {
          variable: certFile ? 'PALISADE_GATEWAY_TLS_KEY_FILE' : 'PALISADE_GATEWAY_TLS_CERT_FILE',
          problem: 'give both the certificate and the key file',
        },
      ]);
    }
    const key = readSecretFile(keyFile, 'PALISADE_GATEWAY_TLS_KEY_FILE');
    let cert: string;
    let parsed: X509Certificate;
    try {
      cert = readFileSync(certFile, 'utf8');
      parsed = new X509Certificate(cert);
      if (!parsed.checkPrivateKey(createPrivateKey(key)))
        throw new Error('the key does not belong to the certificate');
    } catch (error) {
      throw new ConfigError([
        { variable: 'PALISADE_GATEWAY_TLS_CERT_FILE', problem: (error as Error).message },
      ]);
    }
    return {
      source: 'operator',
      key,
      cert,
      notAfter: new Date(parsed.validTo),
      mtimes: [statSync(certFile).mtimeMs, statSync(keyFile).mtimeMs],
    };
  }

  const dir = tlsDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const p = {
    caKey: join(dir, 'ca.key'),
    caCert: join(dir, 'ca.crt'),
    key: join(dir, 'server.key'),
    cert: join(dir, 'server.crt'),
  };

  let ca: X509Certificate | undefined;
  if (existsSync(p.caCert) && existsSync(p.caKey)) {
    const candidate = new X509Certificate(readFileSync(p.caCert));
    // A CA close to its end is replaced (and with it every certificate it signed).
    if (new Date(candidate.validTo).getTime() - now.getTime() > 2 * SERVER_DAYS * 86_400_000) ca = candidate;
  }
  if (!ca) {
    const issued = issueCertificate({
      commonName: `Palisade local CA (${hostname()})`,
      days: CA_DAYS,
      isCa: true,
    });
    write600(p.caKey, issued.keyPem);
    write600(p.caCert, issued.certPem);
    ca = new X509Certificate(issued.certPem);
  }
  const wanted = wantedSans(config);
  if (needsIssue(p.cert, p.key, ca, wanted, config.PALISADE_GATEWAY_TLS_RENEW_DAYS, now)) {
    const caKey = createPrivateKey(readFileSync(p.caKey));
    const issued = issueCertificate({
      commonName: wanted.find((n) => !isIP(n) && n !== 'localhost') ?? 'localhost',
      days: SERVER_DAYS,
      isCa: false,
      sans: wanted,
      issuer: {
        commonName: ca.subject
          .split('\n')
          .find((l) => l.startsWith('CN='))!
          .slice(3),
        privateKey: caKey,
        publicKey: ca.publicKey,
      },
    });
    write600(p.key, issued.keyPem);
    write600(p.cert, issued.certPem);
  }
  for (const f of Object.values(p)) chmodSync(f, 0o600);
  const cert = readFileSync(p.cert, 'utf8');
  return {
    source: 'local-ca',
    key: readFileSync(p.key, 'utf8'),
    cert: cert + readFileSync(p.caCert, 'utf8'),
    notAfter: new Date(new X509Certificate(cert).validTo),
    caCertPath: p.caCert,
  };
}

/** What `bootstrapService` listens with: HTTPS by default; plain HTTP only on loopback and only when asked. */
export function gatewayListen(config: GatewayConfig): HttpListen {
  const listen = { port: config.PALISADE_GATEWAY_PORT, host: config.PALISADE_GATEWAY_HOST };
  if (config.PALISADE_GATEWAY_INSECURE_HTTP) {
    if (!isLoopbackHost(config.PALISADE_GATEWAY_HOST)) {
      throw new ConfigError([
        {
          variable: 'PALISADE_GATEWAY_INSECURE_HTTP',
          problem: `plain HTTP is allowed only on a loopback address, not ${config.PALISADE_GATEWAY_HOST}`,
        },
      ]);
    }
    return listen;
  }
  const tls = loadTlsMaterial(config);
  return { ...listen, httpsOptions: { key: tls.key, cert: tls.cert } };
}
