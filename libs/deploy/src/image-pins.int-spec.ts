// Pinning third-party images with the real Docker engine and Compose (no fake docker anywhere):
// scripts/pin-images.sh against a local registry (Debian's docker-registry on loopback, the only registry
// this machine has) writes <name>:<tag>@sha256:<digest> into the env file and is idempotent; it refuses a
// locally built image (no repo digest) and says so when docker is missing. The ollama profile's guard
// service refuses to let `docker-compose up` start an unpinned image, starts a pinned one, and starts an
// unpinned one with PALISADE_ALLOW_UNPINNED_IMAGES=1 and a warning.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot, waitFor } from '@palisade/testing';

const run = promisify(execFile);
const SOURCE_IMAGE = 'palisade/sandbox:latest'; // built by scripts/build-sandbox-image.sh (scripts/test.sh); has sh
const id = `${process.pid}-${Date.now().toString(36)}`;
const LOCAL_TAG = `palisade/pin-test-local:${id}`; // a locally built image: no repo digest

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
async function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 180_000): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd: repoRoot(), env, timeout, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
const must = async (cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> => {
  const r = await sh(cmd, args, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const PIN = join('scripts', 'pin-images.sh');

describe('scripts/pin-images.sh and the Compose guard, with real Docker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pins-'));
  let registry: ChildProcess | undefined;
  let remote = ''; // 127.0.0.1:<port>/palisade-pin-test:<id>, pushed to the local registry
  let pinned = '';

  beforeAll(async () => {
    await must('docker', ['image', 'inspect', SOURCE_IMAGE]).catch(() => {
      throw new Error(`${SOURCE_IMAGE} missing: bash scripts/build-sandbox-image.sh`);
    });
    await must('docker', ['tag', SOURCE_IMAGE, LOCAL_TAG]);
    const port = await freePort();
    writeFileSync(
      join(dir, 'registry.yml'),
      `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${join(dir, 'registry')} } }\nhttp: { addr: 127.0.0.1:${port} }\n`,
    );
    registry = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: 'ignore' });
    registry.on('error', () => undefined);
    await waitFor('docker-registry (scripts/infra.sh up installs Debian’s docker-registry)', async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, 15_000);
    // Docker treats 127.0.0.0/8 registries as insecure-allowed: push, then drop the local name so that
    // pin-images.sh has to pull it.
    remote = `127.0.0.1:${port}/palisade-pin-test:${id}`;
    await must('docker', ['tag', SOURCE_IMAGE, remote]);
    await must('docker', ['push', remote]);
    await must('docker', ['rmi', remote]);
  }, 300_000);

  afterAll(async () => {
    for (const ref of [LOCAL_TAG, remote, pinned]) if (ref) await sh('docker', ['rmi', ref]);
    registry?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('docker missing: says so and exits 1', async () => {
    const bin = join(dir, 'bin-without-docker');
    mkdirSync(bin);
    symlinkSync('/usr/bin/env', join(bin, 'env'));
    const r = await sh('/bin/bash', [PIN, '--env-file', join(dir, 'none.env')], { PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/docker is not installed \(not on PATH\)/);
  });

  test('a locally built image has no repo digest: says so, exits 1, writes nothing', async () => {
    const file = join(dir, 'local.env');
    const r = await sh('bash', [PIN, '--env-file', file, 'ollama'], { ...process.env, PALISADE_OLLAMA_IMAGE: LOCAL_TAG });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${LOCAL_TAG} has no repo digest`);
    expect(() => readFileSync(file)).toThrow();
    // "latest" is no version to pin.
    const latest = await sh('bash', [PIN, '--env-file', file, 'ollama'], { ...process.env, PALISADE_OLLAMA_IMAGE: 'palisade/sandbox:latest' });
    expect(latest.code).toBe(1);
    expect(latest.stderr).toContain('uses the tag "latest"');
  });

  test('pulls from a registry, writes <name>:<tag>@sha256:<digest> into the env file, idempotent', async () => {
    const file = join(dir, 'deploy.env');
    writeFileSync(file, '# operator settings\nPALISADE_OLLAMA_BIND=127.0.0.1\nPALISADE_OLLAMA_IMAGE=ollama/ollama:0.12.6\n');
    const first = await sh('bash', [PIN, '--env-file', file, 'ollama'], { ...process.env, PALISADE_OLLAMA_IMAGE: remote });
    expect(first).toMatchObject({ code: 0 });
    const digests = JSON.parse(await must('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', remote])) as string[];
    const digest = digests.find((d) => d.startsWith(remote.replace(/:[^:/]+$/, '@')))?.split('@')[1];
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    pinned = `${remote}@${digest}`;
    const written = readFileSync(file, 'utf8');
    expect(written).toBe(`# operator settings\nPALISADE_OLLAMA_BIND=127.0.0.1\nPALISADE_OLLAMA_IMAGE=${pinned}\n`);
    expect(first.stderr).toContain(`PALISADE_OLLAMA_IMAGE=${pinned} (was ${remote})`);
    expect(first.stderr).toContain('overrides'); // the environment still says the tag: told to unset it

    // Again, from the file alone: kept, the file byte for byte the same.
    const second = await sh('bash', [PIN, '--env-file', file, 'ollama']);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('already pinned');
    expect(readFileSync(file, 'utf8')).toBe(written);
    // --update re-resolves the tag from the registry: the same digest, the same file.
    const update = await sh('bash', [PIN, '--env-file', file, '--update', 'ollama']);
    expect(update.code).toBe(0);
    expect(update.stderr).toContain('(unchanged)');
    expect(readFileSync(file, 'utf8')).toBe(written);
  }, 180_000);

  test('docker-compose --profile ollama up: refused unpinned, started pinned, started unpinned with the override', async () => {
    expect(pinned).toMatch(/@sha256:[0-9a-f]{64}$/);
    const project = `palisade-pins-${id}`.toLowerCase().replace(/[^a-z0-9-]/g, '');
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PALISADE_DEPLOY_DIR: join(dir, 'deploy'), PALISADE_OLLAMA_BIND: '127.0.0.1', PALISADE_OLLAMA_PUBLISH_PORT: String(port) };
    const envFile = join(dir, 'compose.env');
    const up = (lines: string) => {
      writeFileSync(envFile, lines);
      return sh('docker-compose', ['--env-file', envFile, '-p', project, '--profile', 'ollama', 'up', '-d'], env);
    };
    const logs = async () => (await sh('docker-compose', ['--env-file', envFile, '-p', project, '--profile', 'ollama', 'logs', '--no-color', 'ollama-image-pins'], env)).stdout;
    // The ollama container's image as Compose asked for it, and its state ('' when there is none).
    const ollamaImage = async () => {
      const ids = (await must('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=ollama'])).split('\n').filter(Boolean);
      return ids.length ? (await must('docker', ['inspect', '--format', '{{.Config.Image}} {{.State.Status}}', ...ids])).trim() : '';
    };
    try {
      const refused = await up(`PALISADE_OLLAMA_IMAGE=${LOCAL_TAG}\n`);
      expect(refused.code).not.toBe(0);
      expect(await logs()).toContain(`PALISADE_OLLAMA_IMAGE=${LOCAL_TAG} is not pinned by digest (a tag, not a digest)`);
      expect(await logs()).toContain('Fix: bash scripts/pin-images.sh ollama');
      expect(await ollamaImage()).toBe(''); // never created

      const started = await up(`PALISADE_OLLAMA_IMAGE=${pinned}\n`);
      expect(started).toMatchObject({ code: 0 });
      expect(await ollamaImage()).toBe(`${pinned} running`);

      const overridden = await up(`PALISADE_OLLAMA_IMAGE=${LOCAL_TAG}\nPALISADE_ALLOW_UNPINNED_IMAGES=1\n`);
      expect(overridden).toMatchObject({ code: 0 });
      expect(await logs()).toContain('WARNING: PALISADE_ALLOW_UNPINNED_IMAGES=1');
      expect(await ollamaImage()).toBe(`${LOCAL_TAG} running`);
    } finally {
      await sh('docker-compose', ['--env-file', envFile, '-p', project, '--profile', 'ollama', 'down', '-v', '--remove-orphans'], env);
    }
    expect(await must('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])).toBe('');
  }, 300_000);
});
