// The Docker sandbox against the real Docker engine (no mocks): isolation, limits, timeouts, OOM,
// output handling, warm reuse, the pool, orphan cleanup and failing closed.
// The sandbox image is built (or found) by scripts/build-sandbox-image.sh.
import Docker from 'dockerode';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerSandboxRepository, SANDBOX_LABELS, workspaceVolumeName } from './docker-sandbox.repository';
import type { OutputChunk } from './exec-output';
import { SandboxImageNotFoundError, SandboxRequestError, SandboxUnavailableError } from './sandbox.errors';
import type { SandboxRunRequest } from './sandbox.types';

jest.setTimeout(180_000);

const REPO = join(__dirname, '..', '..', '..', '..');
const docker = new Docker();

let imageId: string;
let sandbox: DockerSandboxRepository;
/** Every runner instance this file starts (its containers and pool volumes must be gone at the end). */
const instances: string[] = [];
/** Every session this file uses (its workspace volume must be gone at the end). */
const sessions: string[] = [];

function session(name: string): string {
  const id = `test:${name}:${randomUUID()}`;
  sessions.push(id);
  return id;
}

function newRunner(
  options: ConstructorParameters<typeof DockerSandboxRepository>[0] = {},
): DockerSandboxRepository {
  const runner = new DockerSandboxRepository({ poolSize: 0, poolImage: imageId, ...options });
  instances.push(runner.instanceId);
  return runner;
}

const req = (command: string, extra: Partial<SandboxRunRequest> = {}): SandboxRunRequest => ({
  command,
  cwd: '/workspace',
  env: {},
  image: imageId,
  ...extra,
});

async function containersOf(instanceId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`${SANDBOX_LABELS.instance}=${instanceId}`] },
  });
}

async function volumesOf(instanceId: string): Promise<string[]> {
  const { Volumes } = await docker.listVolumes({
    filters: { label: [`${SANDBOX_LABELS.instance}=${instanceId}`] },
  });
  return (Volumes ?? []).map((v) => v.Name);
}

async function containerExists(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Command lines of every process on the host (the test runs on the engine's host). */
function hostProcesses(): string[] {
  return execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n');
}

beforeAll(async () => {
  // Idempotent: prints the ID of the image of the current inputs, building it only if missing.
  imageId = execFileSync('bash', [join(REPO, 'scripts', 'build-sandbox-image.sh')], {
    encoding: 'utf8',
  }).trim();
  expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
  sandbox = newRunner({ poolSize: 2 });
  await sandbox.start();
}, 900_000);

afterAll(async () => {
  const cleaner = sandbox ?? newRunner();
  for (const id of sessions) await cleaner.removeWorkspace(id);
  await sandbox?.close();
  for (const id of instances) {
    expect(await containersOf(id)).toEqual([]);
    expect(await volumesOf(id)).toEqual([]);
  }
  const { Volumes } = await docker.listVolumes();
  const left = new Set((Volumes ?? []).map((v) => v.Name));
  for (const id of sessions) expect(left.has(workspaceVolumeName(id))).toBe(false);
});

describe('image identity', () => {
  it('resolves a reference to the image ID a grant binds', async () => {
    await expect(sandbox.resolveImageId('palisade/sandbox:latest')).resolves.toMatch(/^sha256:/);
    await expect(sandbox.resolveImageId(imageId)).resolves.toBe(imageId);
    await expect(sandbox.resolveImageId('palisade/no-such-image:x')).rejects.toBeInstanceOf(
      SandboxImageNotFoundError,
    );
  });

  it('refuses an image ID that does not exist locally, and a tag instead of an ID', async () => {
    const s = session('image');
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(sandbox.run(s, req('true', { image: missing }))).rejects.toBeInstanceOf(
      SandboxImageNotFoundError,
    );
    await expect(sandbox.run(s, req('true', { image: 'palisade/sandbox:latest' }))).rejects.toBeInstanceOf(
      SandboxRequestError,
    );
  });

  it('the image has the sandbox user, label and no setuid binaries', async () => {
    const info = await docker.getImage(imageId).inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.Config.Labels?.['palisade.role']).toBe('sandbox');
    const r = await sandbox.run(
      session('setuid'),
      req('find / -xdev \\( -perm -4000 -o -perm -2000 \\) -type f 2>/dev/null | wc -l'),
    );
    expect(r.stdout.trim()).toBe('0');
  });
});

describe('isolation', () => {
  it('runs as 10001 in a hardened container', async () => {
    const s = session('hardened');
    const r = await sandbox.run(
      s,
      req('id -u; id -g; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'),
    );
    expect(r.exitCode).toBe(0);
    const [uid, gid, ...status] = r.stdout.trim().split('\n');
    expect(uid).toBe('10001');
    expect(gid).toBe('10001');
    expect(status.join(' ')).toMatch(/CapEff:\s+0{16}/);
    expect(status.join(' ')).toMatch(/NoNewPrivs:\s+1/);
    expect(status.join(' ')).toMatch(/Seccomp:\s+2/); // filter mode: Docker's default profile

    const info = await docker.getContainer(r.container.id).inspect();
    const host = info.HostConfig;
    expect(info.Config.User).toBe('10001:10001');
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
    expect(host.SecurityOpt?.some((o: string) => /seccomp/.test(o))).toBe(false);
    expect(host.NetworkMode).toBe('none');
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(512 * 1024 * 1024);
    expect(host.NanoCpus).toBe(1e9);
    expect(host.PidsLimit).toBe(256);
    expect(host.Init).toBe(true);
    expect(host.Privileged).toBe(false);
    expect(host.Tmpfs?.['/tmp']).toMatch(/noexec.*nosuid.*size=/);
    expect(host.Tmpfs?.['/run']).toMatch(/noexec.*nosuid.*size=/);
    expect(info.Config.Labels[SANDBOX_LABELS.managed]).toBe('true');
    expect(info.Config.Labels[SANDBOX_LABELS.instance]).toBe(sandbox.instanceId);
    expect(info.Mounts.find((m) => m.Destination === '/workspace')).toBeDefined();
  });

  it('cannot write to the root file system; /tmp is writable but not executable', async () => {
    const s = session('readonly');
    const r = await sandbox.run(
      s,
      req(
        'touch /pwned; echo "rc=$?"; touch /tmp/ok && echo tmp-ok; cp /bin/true /tmp/t && /tmp/t; echo "exec=$?"',
      ),
    );
    expect(r.stdout).toContain('rc=1');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.stdout).toContain('tmp-ok');
    expect(r.stdout).toContain('exec=126');
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('has no network: only lo, no route; a server on this host is unreachable (reachable with a network, as a control)', async () => {
    const server: Server = createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as { port: number }).port;
    const bridgeIp = networkInterfaces().docker0?.find((a) => a.family === 'IPv4')?.address ?? '172.17.0.1';
    const probe = `python3 -c "
import socket
s = socket.socket(); s.settimeout(3)
try:
    s.connect(('${bridgeIp}', ${port})); print('connected', s.recv(100).decode().strip())
except OSError as e:
    print('connect failed:', e)
"`;
    try {
      const s = session('network');
      const r = await sandbox.run(
        s,
        req(
          `cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '; echo routes=$(tail -n +2 /proc/net/route | wc -l); ${probe}`,
        ),
      );
      const [ifaces, routes, connect] = [
        r.stdout.split('\n')[0],
        r.stdout.split('\n')[1],
        r.stdout.split('\n')[2],
      ];
      expect(ifaces).toBe('lo');
      expect(routes).toBe('routes=0');
      expect(connect).toMatch(/connect failed: .*(unreachable|Network)/i);

      const control = await sandbox.run(
        session('network-control'),
        req(probe, { limits: { network: 'bridge' } }),
      );
      expect(control.stdout).toContain('connected hello from the host');
    } finally {
      server.close();
    }
  });

  it('applies cwd and the explicit env; nothing of the runner environment is inherited', async () => {
    process.env.PALISADE_TEST_HOST_ONLY = 'must-not-leak';
    const s = session('env');
    await sandbox.run(s, req('mkdir -p /workspace/sub/dir'));
    const r = await sandbox.run(
      s,
      req('pwd; env', { cwd: '/workspace/sub/dir', env: { FOO: 'bar baz', EMPTY: '' } }),
    );
    const [pwd, ...envLines] = r.stdout.trim().split('\n');
    expect(pwd).toBe('/workspace/sub/dir');
    const names = envLines.map((line) => line.split('=')[0]).sort();
    expect(envLines).toContain('FOO=bar baz');
    expect(envLines).toContain('EMPTY=');
    expect(r.stdout).not.toContain('must-not-leak');
    // Only the image's ENV, what bash and Docker set, and the request's variables.
    const allowed = [
      'EMPTY',
      'FOO',
      'HOME',
      'HOSTNAME',
      'LANG',
      'OLDPWD',
      'PATH',
      'PWD',
      'PYTHONDONTWRITEBYTECODE',
      'SHLVL',
      '_',
    ];
    for (const name of names) expect(allowed).toContain(name);

    const missing = await sandbox.run(s, req('pwd', { cwd: '/workspace/nowhere' }));
    expect(missing.exitCode).toBe(126);
    expect(missing.stderr).toContain('cannot use working directory /workspace/nowhere');
  });
});

describe('limits', () => {
  it('contains a fork bomb (pids limit); the runner and the host carry on', async () => {
    const s = session('forkbomb');
    const counted = await sandbox.run(
      s,
      req(
        `python3 -c "
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(30); os._exit(0)
        n += 1
except OSError as e:
    print('forked', n, 'then', e.strerror)
"`,
        { limits: { pidsLimit: 64, timeoutMs: 30_000 } },
      ),
    );
    const forked = Number(/forked (\d+)/.exec(counted.stdout)?.[1]);
    expect(forked).toBeGreaterThan(10);
    expect(forked).toBeLessThan(64);
    expect(counted.stdout).toMatch(/Resource temporarily unavailable/);

    // The classic bomb backgrounds itself, so bash returns at once: the wrapper's clean-up (or, if
    // the bomb outraces it, killing the container) ends it.
    const bomb = await sandbox.run(s, req(':(){ :|:& };:', { limits: { pidsLimit: 64, timeoutMs: 10_000 } }));
    expect(bomb.durationMs).toBeLessThan(20_000);
    const after = await sandbox.run(s, req('ps -eo args | grep -c "^bash -c" || true'));
    expect(after.stdout).toBe('0\n');
    // A foreground bomb never returns: the timeout kills the container with everything in it.
    const foreground = await sandbox.run(
      s,
      req('b(){ b | b; }; b', { limits: { pidsLimit: 64, timeoutMs: 5_000 } }),
    );
    expect(foreground.killed).toBe('timeout');
    expect(foreground.durationMs).toBeLessThan(20_000);
    expect(await containerExists(foreground.container.id)).toBe(false);
    const still = await sandbox.run(s, req('echo still here'));
    expect(still.stdout).toBe('still here\n');
    expect(hostProcesses().filter((args) => args.includes(':|:&') || args.includes('b | b'))).toEqual([]);
    await expect(docker.ping()).resolves.toBeTruthy();
  });

  it('kills a memory hog and reports oom, not timeout', async () => {
    const s = session('oom');
    const r = await sandbox.run(
      s,
      req(
        `python3 -c "
a = []
while True: a.append(bytearray(1 << 20))
"`,
        { limits: { memoryBytes: 64 * 1024 * 1024, timeoutMs: 60_000 } },
      ),
    );
    expect(r.killed).toBe('oom');
    expect(r.exitCode).toBe(137);
    expect(r.durationMs).toBeLessThan(30_000);
    // The container survives an OOM kill of one command; the next command runs normally.
    const next = await sandbox.run(s, req('echo ok', { limits: { memoryBytes: 64 * 1024 * 1024 } }));
    expect(next).toMatchObject({ exitCode: 0, killed: 'none', stdout: 'ok\n' });
    expect(next.container.id).toBe(r.container.id);
    // A command that ends with 137 for another reason is not an OOM.
    const selfKilled = await sandbox.run(s, req('kill -9 $$', { limits: { memoryBytes: 64 * 1024 * 1024 } }));
    expect(selfKilled).toMatchObject({ exitCode: 137, killed: 'none' });
  });

  it('a timeout kills the whole process tree: no sleep 1000 survives, the container is recycled', async () => {
    const s = session('timeout');
    const first = await sandbox.run(s, req('echo before'));
    const r = await sandbox.run(
      s,
      req('sleep 1000 & sleep 1000; echo never', { limits: { timeoutMs: 1_500 } }),
    );
    expect(r.killed).toBe('timeout');
    expect(r.exitCode).toBe(137);
    expect(r.stdout).not.toContain('never');
    expect(r.durationMs).toBeLessThan(10_000);
    expect(r.container.id).toBe(first.container.id);
    expect(await containerExists(r.container.id)).toBe(false);
    expect(hostProcesses().filter((args) => args === 'sleep 1000')).toEqual([]);

    const next = await sandbox.run(s, req('ps -eo args'));
    expect(next.container.origin).toBe('cold');
    expect(next.container.id).not.toBe(r.container.id);
    expect(next.stdout).not.toContain('sleep 1000');
  });

  it('processes a command leaves behind are killed when it ends', async () => {
    const s = session('strays');
    const bg = await sandbox.run(s, req('nohup sleep 1000 >/dev/null 2>&1 & echo started'));
    expect(bg).toMatchObject({ exitCode: 0, stdout: 'started\n' });
    const ps = await sandbox.run(s, req('ps -eo args'));
    expect(ps.container.id).toBe(bg.container.id);
    expect(ps.stdout).not.toContain('sleep 1000');
    expect(ps.stdout).toContain('sleep infinity'); // the keeper stays
    // Even when the command kills the wrapper that would clean up after it.
    const rogue = await sandbox.run(s, req('setsid sleep 1000 >/dev/null 2>&1 & kill -9 $PPID'));
    expect(rogue.exitCode).toBe(137);
    expect(rogue.killed).toBe('none');
    const ps2 = await sandbox.run(s, req('ps -eo args'));
    expect(ps2.stdout).not.toContain('sleep 1000');
    expect(hostProcesses().filter((args) => args === 'sleep 1000')).toEqual([]);
  });

  it('caps each stream at outputBytes with a marker', async () => {
    const s = session('cap');
    const chunks: OutputChunk[] = [];
    const r = await sandbox.run(
      s,
      req('head -c 300000 /dev/zero | tr "\\0" a; echo err-side >&2', { limits: { outputBytes: 1000 } }),
      (c) => chunks.push(c),
    );
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toEqual({ stdout: true, stderr: false });
    expect(r.stdout.startsWith('a'.repeat(1000) + '\n[palisade: stdout truncated')).toBe(true);
    expect(r.stdout).toContain('output limit of 1000 bytes reached');
    expect(r.stderr).toBe('err-side\n');
    const streamed = chunks
      .filter((c) => c.stream === 'stdout')
      .map((c) => c.data)
      .join('');
    expect(streamed).toBe(r.stdout);

    const big = await sandbox.run(s, req('head -c 300000 /dev/zero | tr "\\0" b'));
    expect(big.truncated.stdout).toBe(true);
    expect(big.stdout.indexOf('\n[palisade')).toBe(200 * 1024);
  });
});

describe('output', () => {
  it('streams chunks as they come', async () => {
    const s = session('stream');
    const seen: { data: string; at: number }[] = [];
    const started = Date.now();
    const r = await sandbox.run(s, req('echo one; sleep 1; echo two >&2; sleep 1; echo three'), (c) =>
      seen.push({ data: `${c.stream}:${c.data}`, at: Date.now() - started }),
    );
    expect(seen.map((c) => c.data)).toEqual(['stdout:one\n', 'stderr:two\n', 'stdout:three\n']);
    expect(seen[0].at).toBeLessThan(seen[2].at - 1_000);
    expect(r.stdout).toBe('one\nthree\n');
    expect(r.stderr).toBe('two\n');
  });

  it('redacts a known secret raw, in base64 and hex, also split across chunks', async () => {
    const secret = 'pw-9f8e7d6c5b4a-Sandbox!';
    const s = session('redact');
    const chunks: OutputChunk[] = [];
    const command = [
      'printf "raw:%s\\n" "$TOKEN"',
      'printf "b64:%s\\n" "$(printf %s "$TOKEN" | base64)"',
      'printf "b64-offset:%s\\n" "$(printf "xy%s" "$TOKEN" | base64)"',
      'printf "hex:%s\\n" "$(printf %s "$TOKEN" | od -An -tx1 | tr -d " \\n")"',
      // split across two writes (two frames), a second apart
      'printf "split:%s" "${TOKEN:0:9}"; sleep 1; printf "%s\\n" "${TOKEN:9}"',
      'printf "err:%s" "${TOKEN:0:5}" >&2; sleep 1; printf "%s\\n" "${TOKEN:5}" >&2',
    ].join('; ');
    const r = await sandbox.run(s, req(command, { env: { TOKEN: secret }, secrets: [secret] }), (c) =>
      chunks.push(c),
    );
    expect(r.exitCode).toBe(0);
    const b64 = Buffer.from(secret).toString('base64');
    const hex = Buffer.from(secret).toString('hex');
    for (const text of [r.stdout, r.stderr, chunks.map((c) => c.data).join('')]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(b64.slice(0, 12));
      expect(text).not.toContain(hex.slice(0, 16));
    }
    for (const chunk of chunks) expect(chunk.data).not.toContain(secret.slice(0, 9));
    expect(r.stdout).toContain('raw:[REDACTED:known_secret]\n');
    expect(r.stdout).toContain('hex:[REDACTED:known_secret]\n');
    expect(r.stdout).toContain('split:[REDACTED:known_secret]\n');
    expect(r.stdout).toMatch(/b64:\[REDACTED:known_secret\]/);
    expect(r.stdout).toMatch(/b64-offset:.{0,4}\[REDACTED:known_secret\]/);
    expect(r.stderr).toBe('err:[REDACTED:known_secret]\n');
    // The runner's own known secrets apply to every run.
    const runner = newRunner({ knownSecrets: [secret] });
    try {
      const again = await runner.run(
        session('redact-known'),
        req('echo "$TOKEN"', { env: { TOKEN: secret } }),
      );
      expect(again.stdout).toBe('[REDACTED:known_secret]\n');
    } finally {
      await runner.close();
    }
  });
});

describe('containers', () => {
  it('reuses the warm container of a session; the workspace carries files between commands', async () => {
    const s = session('warm');
    const first = await sandbox.run(s, req('echo hello > /workspace/note.txt; echo $$'));
    const second = await sandbox.run(s, req('cat /workspace/note.txt'));
    expect(second.container.id).toBe(first.container.id);
    expect(second.container.origin).toBe('warm');
    expect(second.stdout).toBe('hello\n');
  });

  it('a new session adopts a pool container; its workspace survives container recycling', async () => {
    await sandbox.poolReady();
    const s = session('pool');
    const first = await sandbox.run(s, req('echo kept > /workspace/kept.txt'));
    expect(first.container.origin).toBe('pool');
    const volume = await docker.getVolume(workspaceVolumeName(s)).inspect();
    expect(volume.Labels[SANDBOX_LABELS.session]).toBe(s);
    expect(volume.Labels[SANDBOX_LABELS.backing]).toMatch(/^palisade-wsp-/);

    await sandbox.releaseSession(s);
    expect(await containerExists(first.container.id)).toBe(false);
    const second = await sandbox.run(s, req('cat /workspace/kept.txt; id -u'));
    expect(second.container.origin).toBe('cold');
    expect(second.stdout).toBe('kept\n10001\n');
    // Other limits: a new container, the same workspace.
    const third = await sandbox.run(
      s,
      req('cat /workspace/kept.txt', { limits: { memoryBytes: 256 * 1024 * 1024 } }),
    );
    expect(third.container.id).not.toBe(second.container.id);
    expect(third.stdout).toBe('kept\n');
    await sandbox.poolReady(); // the pool refills
    expect(sandbox.describe().pooled).toBe(2);
  });

  it('removes idle containers', async () => {
    const runner = newRunner({ idleTimeoutMs: 500, reapIntervalMs: 200 });
    try {
      const r = await runner.run(session('idle'), req('true'));
      expect(await containerExists(r.container.id)).toBe(true);
      const deadline = Date.now() + 10_000;
      while ((await containerExists(r.container.id)) && Date.now() < deadline)
        await new Promise((ok) => setTimeout(ok, 100));
      expect(await containerExists(r.container.id)).toBe(false);
    } finally {
      await runner.close();
    }
  });

  it('graceful shutdown removes the instance’s containers and unused pool volumes', async () => {
    const runner = newRunner({ poolSize: 2 });
    await runner.poolReady();
    const s = session('shutdown');
    await runner.run(s, req('true'));
    expect((await containersOf(runner.instanceId)).length).toBe(3);
    await runner.close();
    expect(await containersOf(runner.instanceId)).toEqual([]);
    // Only the session's workspace stays: its volume and the adopted pool volume behind it.
    const workspace = await docker.getVolume(workspaceVolumeName(s)).inspect();
    expect((await volumesOf(runner.instanceId)).sort()).toEqual(
      [workspace.Name, workspace.Labels[SANDBOX_LABELS.backing]].sort(),
    );
    await expect(runner.run(session('closed'), req('true'))).rejects.toBeInstanceOf(SandboxUnavailableError);
  });
});

describe('orphans', () => {
  let child: ChildProcess | undefined;
  let build: string | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    if (build) rmSync(build, { recursive: true, force: true });
  });

  it('a new instance removes what a crashed instance left behind, and leaves live instances alone', async () => {
    // A runner in its own process, killed with SIGKILL after it started its pool and a session.
    // The compiled runner from dist/ (scripts/test.sh builds before testing; swc resolved the aliases).
    build = mkdtempSync(join(tmpdir(), 'palisade-sandbox-'));
    const compiled = join(REPO, 'dist', 'services', 'sandbox-exec', 'src', 'sandbox', 'docker-sandbox.repository.js');
    const crashedId = `crashed-${randomUUID()}`;
    instances.push(crashedId);
    const crashedSession = session('crashed');
    writeFileSync(
      join(build, 'child.js'),
      `require('reflect-metadata');
      const { DockerSandboxRepository } = require(${JSON.stringify(compiled)});
      (async () => {
        const r = new DockerSandboxRepository({ instanceId: ${JSON.stringify(crashedId)}, poolSize: 2, poolImage: ${JSON.stringify(imageId)} });
        await r.poolReady();
        await r.run(${JSON.stringify(crashedSession)}, { command: 'echo data > /workspace/d.txt', cwd: '/workspace', image: ${JSON.stringify(imageId)} });
        await r.poolReady();
        process.stdout.write('ready\\n');
        setInterval(() => {}, 1000);
      })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    child = spawn(process.execPath, [join(build, 'child.js')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_PATH: join(REPO, 'node_modules') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child!.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect((await containersOf(crashedId)).length).toBe(3); // 2 pool + 1 session
    const live = newRunner({ poolSize: 1 });
    await live.poolReady();

    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = undefined;
    // The crash left its containers and pool volumes behind.
    expect((await containersOf(crashedId)).length).toBe(3);
    expect(
      (await volumesOf(crashedId)).filter((v) => v.startsWith('palisade-wsp-')).length,
    ).toBeGreaterThanOrEqual(2);

    const fresh = newRunner();
    try {
      await fresh.start(); // runs cleanupOrphans
      expect(await containersOf(crashedId)).toEqual([]);
      // Unadopted pool volumes are gone; the session's workspace (and its backing volume) stays.
      const left = await volumesOf(crashedId);
      expect(left).toContain(workspaceVolumeName(crashedSession));
      expect(left.filter((v) => v.startsWith('palisade-wsp-')).length).toBeLessThanOrEqual(1);
      const resumed = await fresh.run(crashedSession, req('cat /workspace/d.txt'));
      expect(resumed.stdout).toBe('data\n');
      // A live instance (its process runs) keeps its containers.
      expect((await containersOf(live.instanceId)).length).toBe(1);
      await expect(fresh.cleanupOrphans()).resolves.toEqual({ containers: [], volumes: [] });

      // Same host and a live pid, but another process start time: a runner restarted in a container
      // whose new process got the old pid. Its containers are orphans too.
      const reusedId = `reused-pid-${randomUUID()}`;
      instances.push(reusedId);
      const stale = await docker.createContainer({
        Image: imageId,
        Entrypoint: ['true'],
        Labels: {
          [SANDBOX_LABELS.managed]: 'true',
          [SANDBOX_LABELS.instance]: reusedId,
          [SANDBOX_LABELS.instanceHost]: hostname(),
          [SANDBOX_LABELS.instancePid]: String(process.pid),
          [SANDBOX_LABELS.instanceStart]: '1',
        },
      });
      await expect(fresh.cleanupOrphans()).resolves.toEqual({ containers: [stale.id], volumes: [] });
    } finally {
      await fresh.close();
      await live.close();
    }
  });
});

describe('failing closed', () => {
  it('Docker unreachable: SandboxUnavailableError, nothing runs', async () => {
    const runner = new DockerSandboxRepository({ socketPath: '/nonexistent/docker.sock', poolSize: 0 });
    const run = runner.run(session('unreachable'), req('true'));
    await expect(run).rejects.toBeInstanceOf(SandboxUnavailableError);
    await expect(run).rejects.toThrow(/Docker is unreachable at \/nonexistent\/docker\.sock/);
    await expect(runner.resolveImageId('palisade/sandbox:latest')).rejects.toBeInstanceOf(
      SandboxUnavailableError,
    );
    await expect(runner.ping()).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
    await runner.close();
  });

  it('rejects malformed requests before touching Docker', async () => {
    const s = session('invalid');
    await expect(sandbox.run(s, req('true', { cwd: 'relative' }))).rejects.toBeInstanceOf(
      SandboxRequestError,
    );
    await expect(sandbox.run(s, req('true', { env: { 'BAD-NAME': 'x' } }))).rejects.toBeInstanceOf(
      SandboxRequestError,
    );
    await expect(sandbox.run(s, req('true', { limits: { network: 'host' } }))).rejects.toBeInstanceOf(
      SandboxRequestError,
    );
    await expect(sandbox.run(s, req('true', { limits: { pidsLimit: 0 } }))).rejects.toBeInstanceOf(
      SandboxRequestError,
    );
  });
});
