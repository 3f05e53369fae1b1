// A throw-away certificate authority and a server certificate for loopback TLS in tests, made with the
// `openssl` command line (no npm dependency). Keys are ECDSA P-256; files are written mode 600 in a
// directory of mode 700. Never use these outside tests.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface TestCaOptions {
  /** Extra subjectAltName entries (DNS names or IP addresses) besides localhost, 127.0.0.1 and ::1. */
  extraSans?: string[];
  /** Validity in days (default 2). */
  days?: number;
  commonName?: string;
}

export interface TestCa {
  dir: string;
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
  /** PEM contents */
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  /** subjectAltName entries of the server certificate, e.g. ["DNS:localhost", "IP:127.0.0.1"]. */
  sans: string[];
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

export async function createTestCa(dir: string, options: TestCaOptions = {}): Promise<TestCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const days = String(options.days ?? 2);
  const names = ['localhost', '127.0.0.1', '::1', ...(options.extraSans ?? [])];
  const sans = [...new Set(names)].map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`));
  const p = {
    caKey: join(dir, 'ca.key'),
    caCert: join(dir, 'ca.crt'),
    key: join(dir, 'server.key'),
    csr: join(dir, 'server.csr'),
    cert: join(dir, 'server.crt'),
    ext: join(dir, 'server.ext'),
    serial: join(dir, 'ca.srl'),
  };

  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      p.caKey,
      '-out',
      p.caCert,
      '-days',
      days,
      '-subj',
      '/CN=Palisade Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      p.key,
      '-out',
      p.csr,
      '-subj',
      `/CN=${options.commonName ?? 'localhost'}`,
    ],
    dir,
  );
  await writeFile(
    p.ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans.join(',')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      p.csr,
      '-CA',
      p.caCert,
      '-CAkey',
      p.caKey,
      '-CAcreateserial',
      '-CAserial',
      p.serial,
      '-out',
      p.cert,
      '-days',
      days,
      '-sha256',
      '-extfile',
      p.ext,
    ],
    dir,
  );
  await Promise.all([rm(p.csr, { force: true }), rm(p.ext, { force: true }), rm(p.serial, { force: true })]);
  for (const f of [p.caKey, p.caCert, p.key, p.cert]) await chmod(f, 0o600);

  const [caCert, caKey, cert, key] = await Promise.all(
    [p.caCert, p.caKey, p.cert, p.key].map((f) => readFile(f, 'utf8')),
  );
  return {
    dir,
    caCertPath: p.caCert,
    caKeyPath: p.caKey,
    certPath: p.cert,
    keyPath: p.key,
    caCert,
    caKey,
    cert,
    key,
    sans,
  };
}
