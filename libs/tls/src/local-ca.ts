// The local CA on disk (dir mode 700, files mode 600) and server certificates it issues — for NATS,
// channels and any Palisade listener that terminates its own TLS. Clients trust `ca.crt`.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { issueCertificate } from './x509';

const CA_DAYS = 3650;

export interface LocalCa {
  dir: string;
  caCertPath: string;
  caKeyPath: string;
}

export interface ServerCertificate {
  certPath: string;
  keyPath: string;
  caCertPath: string;
  notAfter: Date;
}

function write600(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The CA in `dir` (created when missing). */
export function ensureLocalCa(dir: string): LocalCa {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const ca = { dir, caCertPath: join(dir, 'ca.crt'), caKeyPath: join(dir, 'ca.key') };
  if (!existsSync(ca.caCertPath) || !existsSync(ca.caKeyPath)) {
    const issued = issueCertificate({ commonName: `Palisade local CA (${hostname()})`, days: CA_DAYS, isCa: true });
    write600(ca.caKeyPath, issued.keyPem);
    write600(ca.caCertPath, issued.certPem);
  }
  return ca;
}

/**
 * A server certificate `<name>.crt`/`<name>.key` in the CA's directory for the given names/addresses.
 * Reissued when missing, when its names differ, or when fewer than `renewDays` days remain.
 */
export function issueServerCertificate(ca: LocalCa, name: string, sans: string[], options: { days?: number; renewDays?: number; now?: Date } = {}): ServerCertificate {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(name)) throw new Error(`certificate name "${name}" must be lower-case letters, digits and dashes`);
  const now = options.now ?? new Date();
  const certPath = join(ca.dir, `${name}.crt`);
  const keyPath = join(ca.dir, `${name}.key`);
  const wanted = [...new Set(sans)].sort();
  const caCert = new X509Certificate(readFileSync(ca.caCertPath));
  if (existsSync(certPath) && existsSync(keyPath)) {
    const current = new X509Certificate(readFileSync(certPath));
    const names = (current.subjectAltName ?? '')
      .split(', ')
      .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
      .filter(Boolean)
      .sort();
    const fresh = new Date(current.validTo).getTime() - now.getTime() > (options.renewDays ?? 30) * 86_400_000;
    if (fresh && current.verify(caCert.publicKey) && JSON.stringify(names) === JSON.stringify(wanted)) {
      return { certPath, keyPath, caCertPath: ca.caCertPath, notAfter: new Date(current.validTo) };
    }
  }
  const issued = issueCertificate({
    commonName: wanted.find((n) => !/^[\d.:]+$/.test(n)) ?? wanted[0] ?? name,
    days: options.days ?? 90,
    isCa: false,
    sans: wanted,
    issuer: { commonName: caCert.subject.split('\n').find((l) => l.startsWith('CN='))!.slice(3), privateKey: createPrivateKey(readFileSync(ca.caKeyPath)), publicKey: caCert.publicKey },
  });
  write600(keyPath, issued.keyPem);
  // The chain clients need after the leaf: the CA itself.
  write600(certPath, issued.certPem);
  return { certPath, keyPath, caCertPath: ca.caCertPath, notAfter: issued.notAfter };
}
