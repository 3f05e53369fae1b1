// scripts/compose-v2.sh fetches Compose v2 from Debian only through a verified chain (InRelease signed
// by the Debian archive keyring → Packages index SHA-256 → .deb SHA-256). The happy path is what the
// Compose e2e runs; here the attacks: a keyring that does not hold Debian's current keys, and a mirror
// that serves the genuine signed InRelease with a tampered Packages index. Both must be refused, and
// nothing may be left in the cache.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@palisade/testing';

const run = promisify(execFile);
const MIRROR = 'http://deb.debian.org/debian';

async function fetchV2(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', ['scripts/compose-v2.sh'], {
      cwd: repoRoot(),
      env: { ...process.env, PALISADE_COMPOSE_V2_FETCH: '1', ...env },
      timeout: 300_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('scripts/compose-v2.sh refuses anything the Debian signature chain does not vouch for', () => {
  const home = mkdtempSync(join(tmpdir(), 'palisade-compose-v2-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const cacheEntries = () => (existsSync(join(home, 'cache')) ? readdirSync(join(home, 'cache')) : []);

  it('a keyring without Debian’s current archive keys: the InRelease signature does not verify', async () => {
    const result = await fetchV2({ PALISADE_HOME: home, PALISADE_DEBIAN_MIRROR: MIRROR, PALISADE_DEBIAN_KEYRING: '/usr/share/keyrings/debian-archive-removed-keys.gpg' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/InRelease signature of trixie does not verify/);
    expect(result.stdout).toBe('');
    expect(cacheEntries()).toEqual([]);
  });

  it('a mirror serving the genuine InRelease but a tampered Packages index: refused before any package is fetched', async () => {
    const requested: string[] = [];
    const genuine = await fetch(`${MIRROR}/dists/trixie/InRelease`).then((r) => r.arrayBuffer());
    const server = http.createServer((req, res) => {
      requested.push(req.url ?? '');
      if (req.url === '/debian/dists/trixie/InRelease') return void res.end(Buffer.from(genuine));
      if (req.url === '/debian/dists/trixie/main/binary-amd64/Packages.xz') return void res.end('Package: docker-compose\nVersion: 2.99.0\nFilename: pool/evil.deb\nSHA256: 00\n');
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const result = await fetchV2({ PALISADE_HOME: home, PALISADE_DEBIAN_MIRROR: `http://127.0.0.1:${port}/debian` });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Packages\.xz does not match the signed Release/);
      expect(requested).toEqual(['/debian/dists/trixie/InRelease', '/debian/dists/trixie/main/binary-amd64/Packages.xz']);
      expect(cacheEntries()).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
