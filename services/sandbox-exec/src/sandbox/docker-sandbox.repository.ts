// The Docker sandbox: runs one granted command in a hardened container and returns its output.
// With docker-egress.repository.ts the only place in sandbox-exec that talks to Docker (a repository
// around dockerode; the grant checks, events and policy live in the service that calls it).
//
// Containers. Every container is hardened the same way: user 10001:10001, read-only root, tmpfs
// /tmp and /run (noexec, nosuid, size-limited), all capabilities dropped, no-new-privileges, Docker's
// default seccomp profile, network `none` unless the run names one, memory = memory+swap (no swap),
// CPU and pids limits, Docker's init as PID 1 (it reaps orphans) supervising a `sleep infinity`
// keeper, and labels palisade.managed / palisade.instance / palisade.session so that containers a
// crashed runner left behind can be found. The session's workspace is a named volume at /workspace.
//
// Speed. A session keeps one warm container and each command is an `exec` in it. A new session
// first takes a pre-started container from a small pool (see "Pool and workspaces"), otherwise one
// is created (cold). A container unused for idleTimeoutMs is removed; the workspace volume stays.
//
// Pool and workspaces. A running container's mounts cannot change, so a pool container is started
// with its own fresh volume (palisade-wsp-<random>, the "backing" volume). When a session with no
// workspace yet adopts it, the runner creates the session's workspace volume palisade-ws-<session>
// as a local-driver *bind* volume onto the backing volume's data directory (labels:
// palisade.session, palisade.workspace.backing). The adopted container keeps using the backing
// volume; every later container of the session mounts palisade-ws-<session>: the same files, under
// the session's name, across container recycling and runner restarts. removeWorkspace() removes
// both. A session whose workspace already exists never adopts (its files are elsewhere); it goes
// cold. If the engine refuses the bind volume, the pool container is dropped and the run goes cold.
//
// Commands. `bash -c <command>` runs under a small POSIX-sh wrapper that changes to cwd and, when
// the command ends, kills every process the command left behind (all but PID 1, the keeper and the
// wrapper): state lives in /workspace, never in stray processes. A timeout kills the whole
// container (every process in it) and removes it; the session's next command gets a fresh one.
// An OOM kill is told apart from a timeout by the container's "oom" events and its memory cgroup's
// oom_kill counter. Output is demultiplexed, redacted (known secrets, raw / base64 / hex / escaped,
// also when split across chunks), capped per stream, and streamed to the caller as it comes.
//
// Failing closed: if Docker cannot be reached, run() throws SandboxUnavailableError; nothing runs
// anywhere else. A run must name an image by ID (sha256:…, what a grant binds) that exists locally.
import Docker from 'dockerode';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { CappedRedactedStream, DockerFrameDemuxer, type OnOutputChunk } from './exec-output';
import {
  SandboxError,
  SandboxFailedError,
  SandboxImageNotFoundError,
  SandboxRequestError,
  SandboxUnavailableError,
} from './sandbox.errors';
import {
  DEFAULT_SANDBOX_LIMITS,
  type DockerSandboxOptions,
  type SandboxContainerOrigin,
  type SandboxKill,
  type SandboxLimits,
  type SandboxLogger,
  type SandboxRunRequest,
  type SandboxRunResult,
} from './sandbox.types';
import { SecretMatcher } from './stream-redactor';

export const SANDBOX_LABELS = Object.freeze({
  managed: 'palisade.managed',
  instance: 'palisade.instance',
  instanceHost: 'palisade.instance.host',
  instancePid: 'palisade.instance.pid',
  instanceStart: 'palisade.instance.start',
  session: 'palisade.session',
  pool: 'palisade.pool',
  spec: 'palisade.spec',
  workspace: 'palisade.workspace',
  backing: 'palisade.workspace.backing',
});

export const SANDBOX_USER = '10001:10001';
export const WORKSPACE_PATH = '/workspace';
const IMAGE_ID_PATTERN = /^sha256:[0-9a-f]{64}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NETWORK_PATTERN = /^(?!host$)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/i;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const MIB = 1024 * 1024;

/**
 * Kills every process of the container except PID 1 (Docker's init), the keeper (init's first
 * child, read from /proc/1/task/1/children before the command runs) and this shell. Repeated, so
 * that processes forked while the loop ran are caught too; if some still escape (a fork bomb racing
 * the loop), the keeper is killed: init exits, the kernel kills everything left, and the runner
 * starts a new container for the session's next command.
 */
const KILL_STRAYS = `
palisade_kill_strays() {
  palisade_pass=0
  while [ "$palisade_pass" -lt 50 ]; do
    palisade_found=
    for palisade_proc in /proc/[0-9]*; do
      palisade_pid=\${palisade_proc#/proc/}
      case "$palisade_pid" in 1|"$$"|"$palisade_keeper") continue ;; esac
      # Zombies are dead already (init reaps them); state is the field after "(comm) ".
      palisade_stat=
      read -r palisade_stat 2>/dev/null <"$palisade_proc/stat" || :
      palisade_stat=\${palisade_stat##*) }
      [ "\${palisade_stat%% *}" = Z ] && continue
      kill -9 "$palisade_pid" 2>/dev/null && palisade_found=1
    done
    [ -n "$palisade_found" ] || return 0
    palisade_pass=$((palisade_pass + 1))
  done
  [ -n "$palisade_keeper" ] && kill -9 "$palisade_keeper" 2>/dev/null
  return 0
}
palisade_keeper=
# (the file has no trailing newline, so read reports EOF while still setting the variable)
if [ "$1" = init ]; then read -r palisade_keeper palisade_rest 2>/dev/null </proc/1/task/1/children || :; fi
`;

/** The scripts as passed to sh (they show in `ps`): comment lines and indentation dropped. */
const compact = (script: string): string =>
  script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .join('\n');

/** sh -c RUN_WRAPPER palisade-run <init|noinit> <cwd> <command> */
const RUN_WRAPPER = compact(`${KILL_STRAYS}
cd -- "$2" 2>/dev/null || { printf 'palisade: cannot use working directory %s\\n' "$2" >&2; exit 126; }
/bin/bash -c "$3"
palisade_rc=$?
palisade_kill_strays
exit "$palisade_rc"
`);

/** sh -c POST_CHECK palisade-check <init|noinit>: prints the cgroup's OOM kill count; kills strays. */
const POST_CHECK = compact(`${KILL_STRAYS}
for palisade_file in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do
  [ -r "$palisade_file" ] || continue
  while read -r palisade_key palisade_value; do
    if [ "$palisade_key" = oom_kill ]; then echo "oom_kill $palisade_value"; break 2; fi
  done <"$palisade_file"
done
palisade_kill_strays
`);

/** A filesystem- and label-safe, collision-free name part for a session id. */
export function sessionSlug(sessionId: string): string {
  const clean = sessionId
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 40)
    .replace(/[-_.]+$/, '');
  const hash = createHash('sha256').update(sessionId, 'utf8').digest('hex').slice(0, 12);
  return clean ? `${clean}-${hash}` : hash;
}

/** The named volume holding a session's /workspace. */
export const workspaceVolumeName = (sessionId: string): string => `palisade-ws-${sessionSlug(sessionId)}`;

interface Box {
  id: string;
  container: Docker.Container;
  name: string;
  sessionId: string | null;
  specKey: string;
  /** Volume mounted at /workspace (the pool's backing volume for an adopted container). */
  volume: string;
  /** Data directory of the volume on the engine's host (pool volumes only). */
  mountpoint?: string;
  lastUsed: number;
  busy: boolean;
  /** "oom" events Docker reported for this container, and how many of them are accounted for. */
  oomEvents: number;
  oomEventsAccounted: number;
  /** The memory cgroup's oom_kill counter as last read. */
  oomKills: number;
}

interface NormalizedRequest {
  command: string;
  cwd: string;
  env: string[];
  image: string;
  limits: SandboxLimits;
  secrets: readonly string[];
}

/** An exec could not start because its container is gone or stopped: the run retries on a new one. */
class ContainerGoneError extends Error {}

type DockerError = Error & {
  statusCode?: number;
  code?: string;
  reason?: string;
  json?: { message?: string };
};

const CONNECTION_ERROR_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EACCES',
  'EPERM',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

function isConnectionError(error: unknown): boolean {
  const e = error as DockerError;
  if (!e || typeof e !== 'object') return false;
  if (e.code && CONNECTION_ERROR_CODES.has(e.code)) return true;
  return typeof e.message === 'string' && /socket hang up|connect E[A-Z]+/.test(e.message);
}

const statusOf = (error: unknown): number | undefined => (error as DockerError)?.statusCode;
const messageOf = (error: unknown): string =>
  (error as DockerError)?.json?.message ?? (error instanceof Error ? error.message : String(error));

/** Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22); undefined if unknown. */
function processStartTicks(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The process exists and, when its start time was recorded, is the same process (not a reused pid). */
function processAlive(pid: number, startTicks: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!startTicks) return true;
  const now = processStartTicks(pid);
  return now === undefined || now === startTicks;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class DockerSandboxRepository {
  readonly instanceId: string;
  private readonly docker: Docker;
  private readonly endpoint: string;
  private readonly poolSize: number;
  private readonly poolImageRef: string;
  private readonly idleTimeoutMs: number;
  private readonly reapIntervalMs: number;
  private readonly defaults: SandboxLimits;
  private readonly tmpBytes: number;
  private readonly runBytes: number;
  private readonly apiTimeoutMs: number;
  private readonly logger: SandboxLogger;
  private readonly isInstanceAlive: (
    instanceId: string,
    labels: Record<string, string>,
  ) => boolean | Promise<boolean>;
  private readonly networkEnv: Readonly<Record<string, readonly string[]>>;
  private readonly networkDns = new Map<string, readonly string[]>();
  private readonly host = hostname();
  private readonly startTicks = processStartTicks('self') ?? '';

  private knownSecrets = new Set<string>();
  private knownMatcher = new SecretMatcher([]);
  private useInit = false;
  private started?: Promise<void>;
  private closed = false;
  private closing?: Promise<void>;

  private readonly sessions = new Map<string, Box>();
  private readonly boxes = new Map<string, Box>();
  private readonly pool: Box[] = [];
  private poolImageId?: string;
  private poolSpecKey?: string;
  private poolFill?: Promise<void>;
  private poolRetry?: NodeJS.Timeout;
  private reapTimer?: NodeJS.Timeout;
  private events?: NodeJS.ReadableStream & { destroy?: () => void };
  private eventsRetry?: NodeJS.Timeout;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly imageSeen = new Map<string, number>();

  constructor(options: DockerSandboxOptions = {}) {
    // Without a socket path, dockerode follows DOCKER_HOST (unix:// or tcp://) like the CLI does.
    const dockerHost = process.env.DOCKER_HOST;
    this.endpoint = options.socketPath ?? dockerHost ?? '/var/run/docker.sock';
    this.docker =
      options.docker ??
      (options.socketPath || !dockerHost
        ? new Docker({ socketPath: options.socketPath ?? this.endpoint })
        : new Docker());
    this.instanceId = options.instanceId ?? randomUUID();
    this.poolSize = Math.max(0, Math.floor(options.poolSize ?? 2));
    this.poolImageRef = options.poolImage ?? 'palisade/sandbox:latest';
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60_000;
    this.reapIntervalMs = options.reapIntervalMs ?? Math.min(60_000, Math.max(1_000, this.idleTimeoutMs / 4));
    this.defaults = this.normalizeLimits({ ...DEFAULT_SANDBOX_LIMITS, ...options.defaultLimits });
    this.tmpBytes = options.tmpfsBytes?.tmp ?? 64 * MIB;
    this.runBytes = options.tmpfsBytes?.run ?? 8 * MIB;
    this.apiTimeoutMs = options.apiTimeoutMs ?? 30_000;
    this.logger = options.logger ?? { warn: () => undefined };
    this.isInstanceAlive =
      options.isInstanceAlive ?? ((id, labels) => this.defaultIsInstanceAlive(id, labels));
    this.networkEnv = options.networkEnv ?? {};
    if (options.knownSecrets) this.addKnownSecrets(options.knownSecrets);
  }

  /**
   * DNS servers of containers on `network` (the egress proxy's sink). Part of the container spec, so
   * a session's warm container made with other servers is replaced at its next command.
   */
  setNetworkDns(network: string, servers: readonly string[]): void {
    this.networkDns.set(network, [...servers]);
  }

  /** The dockerode client (shared with the egress repository, same endpoint). */
  get client(): Docker {
    return this.docker;
  }

  /** Labels that mark a container as this instance's (cleanupOrphans removes it once the instance is dead). */
  managedLabels(): Record<string, string> {
    return this.baseLabels();
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /**
   * Connects to Docker, removes what dead runner instances left behind, starts the pool, the idle
   * reaper and the OOM event watch. run() calls it on first use; idempotent.
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new SandboxUnavailableError('the sandbox runner is shut down'));
    this.started ??= this.doStart().catch((error) => {
      this.started = undefined;
      throw error;
    });
    return this.started;
  }

  /**
   * NestJS lifecycle hook. Docker being down at boot does not stop the service: runs fail closed
   * with SandboxUnavailableError and start() is tried again on each run.
   */
  async onModuleInit(): Promise<void> {
    try {
      await this.start();
    } catch (error) {
      if (!(error instanceof SandboxUnavailableError)) throw error;
      this.logger.warn(`sandbox not started yet: ${error.message}`);
    }
  }

  /**
   * NestJS lifecycle hook, run before the NATS transport closes: removing this instance's containers
   * must not wait behind a NATS drain (a server already gone would stall it until the process is killed).
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** Removes every container of this instance (in-flight runs fail) and the unused pool volumes. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = this.doClose();
    return this.closing;
  }

  private async doStart(): Promise<void> {
    const info = await this.api('docker info', () => this.docker.info());
    // Docker's init (docker-init, tini) reaps orphaned processes; it ships with the engine.
    this.useInit = Boolean(info?.InitBinary);
    await this.cleanupOrphans();
    this.watchEvents();
    this.reapTimer = setInterval(() => void this.reapIdle(), this.reapIntervalMs);
    this.reapTimer.unref();
    if (this.poolSize > 0) {
      try {
        this.poolImageId = await this.resolveImageId(this.poolImageRef);
        this.poolSpecKey = this.specKey(this.poolImageId, this.defaults);
        void this.fillPool();
      } catch (error) {
        if (error instanceof SandboxUnavailableError) throw error;
        this.logger.warn(`sandbox pool disabled: ${messageOf(error)}`);
      }
    }
  }

  private async doClose(): Promise<void> {
    clearInterval(this.reapTimer);
    clearTimeout(this.poolRetry);
    clearTimeout(this.eventsRetry);
    this.events?.destroy?.();
    this.events = undefined;
    await this.started?.catch(() => undefined);
    await this.poolFill?.catch(() => undefined);
    const ids = new Set(this.boxes.keys());
    try {
      const listed = await this.api('list containers', () =>
        this.docker.listContainers({
          all: true,
          filters: { label: [`${SANDBOX_LABELS.instance}=${this.instanceId}`] },
        }),
      );
      for (const c of listed) ids.add(c.Id);
    } catch {
      // Docker gone: nothing more can be removed now; the next instance's cleanupOrphans will.
    }
    await Promise.all([...ids].map((id) => this.removeContainer(id)));
    const poolVolumes = new Set(this.pool.map((box) => box.volume));
    this.pool.length = 0;
    this.sessions.clear();
    this.boxes.clear();
    try {
      const { Volumes } = await this.api('list volumes', () =>
        this.docker.listVolumes({ filters: { label: [`${SANDBOX_LABELS.instance}=${this.instanceId}`] } }),
      );
      const all = await this.managedVolumes();
      const backing = new Set(all.map((v) => v.Labels?.[SANDBOX_LABELS.backing]).filter(Boolean));
      for (const v of Volumes ?? [])
        if (v.Labels?.[SANDBOX_LABELS.pool] === 'true' && !backing.has(v.Name)) poolVolumes.add(v.Name);
    } catch {
      // as above
    }
    await Promise.all([...poolVolumes].map((name) => this.removeVolume(name)));
  }

  // ---- public API -----------------------------------------------------------------------------

  /** Adds values that are redacted from every run's output from now on. */
  addKnownSecrets(values: Iterable<string>): void {
    for (const value of values)
      if (typeof value === 'string' && value.length > 0) this.knownSecrets.add(value);
    this.knownMatcher = new SecretMatcher(this.knownSecrets);
  }

  /** Fails with SandboxUnavailableError if the engine does not answer. */
  async ping(): Promise<void> {
    await this.api('ping', () => this.docker.ping());
  }

  /** The image ID (sha256:…) of a local image reference; grants bind this, never a tag. */
  async resolveImageId(reference: string): Promise<string> {
    try {
      const info = await this.api(`inspect image ${reference}`, () =>
        this.docker.getImage(reference).inspect(),
      );
      return info.Id;
    } catch (error) {
      if (statusOf(error) === 404) throw new SandboxImageNotFoundError(reference, { cause: error });
      throw this.failure(`inspect image ${reference}`, error);
    }
  }

  /**
   * Runs `bash -c <command>` in the session's container. Output chunks (redacted, capped) go to
   * onChunk as they arrive; the result holds the whole kept output.
   */
  async run(
    sessionId: string,
    request: SandboxRunRequest,
    onChunk?: OnOutputChunk,
  ): Promise<SandboxRunResult> {
    const startedAt = performance.now();
    const req = this.normalizeRequest(sessionId, request);
    await this.start();
    await this.checkImage(req.image);
    try {
      return await this.withSessionLock(sessionId, async () => {
        for (let attempt = 0; ; attempt += 1) {
          this.assertOpen();
          const { box, origin } = await this.acquire(sessionId, req);
          try {
            return await this.execute(box, origin, req, startedAt, onChunk);
          } catch (error) {
            if (error instanceof ContainerGoneError && attempt === 0) {
              await this.discard(box);
              continue;
            }
            throw error;
          }
        }
      });
    } catch (error) {
      if (this.closed)
        throw new SandboxUnavailableError(
          'the sandbox runner is shutting down; the command did not complete',
          { cause: error },
        );
      throw this.failure(`run a command for session ${sessionId}`, error);
    }
  }

  /** Removes the session's container (its workspace stays). */
  async releaseSession(sessionId: string): Promise<void> {
    await this.withSessionLock(sessionId, async () => {
      const box = this.sessions.get(sessionId);
      if (box) await this.discard(box);
    });
  }

  /**
   * Removes every session container now (the agent was frozen): commands in flight die with their
   * container. Workspaces and the idle pool stay.
   */
  async stopSessions(): Promise<number> {
    const boxes = [...this.sessions.values()];
    await Promise.all(boxes.map((box) => this.discard(box)));
    return boxes.length;
  }

  /** Removes the session's container and its workspace volume (and the pool volume behind it). */
  async removeWorkspace(sessionId: string): Promise<void> {
    await this.withSessionLock(sessionId, async () => {
      const box = this.sessions.get(sessionId);
      if (box) await this.discard(box);
      const name = workspaceVolumeName(sessionId);
      let backing: string | undefined;
      try {
        const info = await this.api('inspect volume', () => this.docker.getVolume(name).inspect());
        backing = info.Labels?.[SANDBOX_LABELS.backing];
      } catch (error) {
        if (statusOf(error) !== 404) throw this.failure(`inspect volume ${name}`, error);
        return;
      }
      await this.removeVolume(name, true);
      if (backing) await this.removeVolume(backing, true);
    });
  }

  /**
   * Removes palisade-managed containers whose runner instance is not alive, and pool volumes of
   * such instances that no workspace refers to. Called by start(). Returns what was removed.
   */
  async cleanupOrphans(): Promise<{ containers: string[]; volumes: string[] }> {
    const verdicts = new Map<string, Promise<boolean>>();
    const alive = (labels: Record<string, string>): Promise<boolean> => {
      const id = labels[SANDBOX_LABELS.instance] ?? '';
      if (id === this.instanceId) return Promise.resolve(true);
      let verdict = verdicts.get(id);
      if (!verdict) {
        verdict = Promise.resolve()
          .then(() => this.isInstanceAlive(id, labels))
          .then(Boolean);
        verdicts.set(id, verdict);
      }
      return verdict;
    };
    const removed = { containers: [] as string[], volumes: [] as string[] };
    const containers = await this.api('list containers', () =>
      this.docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`] } }),
    );
    for (const c of containers) {
      if (await alive(c.Labels ?? {})) continue;
      await this.removeContainer(c.Id);
      removed.containers.push(c.Id);
    }
    const volumes = await this.managedVolumes();
    const backing = new Set(volumes.map((v) => v.Labels?.[SANDBOX_LABELS.backing]).filter(Boolean));
    for (const v of volumes) {
      const labels = v.Labels ?? {};
      if (labels[SANDBOX_LABELS.pool] !== 'true' || backing.has(v.Name) || (await alive(labels))) continue;
      if (await this.removeVolume(v.Name)) removed.volumes.push(v.Name);
    }
    return removed;
  }

  /** What this instance holds right now (for health output and tests). */
  describe(): {
    instanceId: string;
    pooled: number;
    sessions: { sessionId: string; containerId: string; busy: boolean }[];
  } {
    return {
      instanceId: this.instanceId,
      pooled: this.pool.length,
      sessions: [...this.sessions.values()].map((b) => ({
        sessionId: b.sessionId ?? '',
        containerId: b.id,
        busy: b.busy,
      })),
    };
  }

  /** Resolves once the pool holds poolSize ready containers (or the pool is disabled). */
  async poolReady(timeoutMs = 60_000): Promise<void> {
    await this.start();
    const deadline = Date.now() + timeoutMs;
    while (this.poolImageId && this.pool.length < this.poolSize) {
      if (this.closed) throw new SandboxUnavailableError('the sandbox runner is shut down');
      if (Date.now() > deadline)
        throw new SandboxFailedError(`the sandbox pool did not fill within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  // ---- validation -----------------------------------------------------------------------------

  private normalizeLimits(limits: Partial<SandboxLimits>): SandboxLimits {
    const merged = { ...DEFAULT_SANDBOX_LIMITS, ...this.defaults, ...limits } as SandboxLimits;
    const int = (name: keyof SandboxLimits, min: number, max: number): void => {
      const value = merged[name];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        throw new SandboxRequestError(`limits.${name} must be an integer from ${min} to ${max}`);
      }
    };
    int('memoryBytes', 6 * MIB, 1024 * 1024 * MIB);
    int('nanoCpus', 10_000_000, 1024 * 1_000_000_000);
    int('pidsLimit', 16, 1_000_000);
    int('timeoutMs', 1, 24 * 3600_000);
    int('outputBytes', 1, 64 * MIB);
    if (typeof merged.network !== 'string' || !NETWORK_PATTERN.test(merged.network)) {
      throw new SandboxRequestError(
        'limits.network must be "none" or a Docker network name other than "host"',
      );
    }
    return merged;
  }

  private normalizeRequest(sessionId: string, request: SandboxRunRequest): NormalizedRequest {
    if (
      typeof sessionId !== 'string' ||
      sessionId.length === 0 ||
      sessionId.length > 512 ||
      CONTROL_CHARS.test(sessionId)
    ) {
      throw new SandboxRequestError('session id must be 1 to 512 characters without control characters');
    }
    const { command, cwd, env = {}, image, limits = {}, secrets = [] } = request ?? ({} as SandboxRunRequest);
    if (
      typeof command !== 'string' ||
      command.length === 0 ||
      command.length > 256 * 1024 ||
      command.includes('\0')
    ) {
      throw new SandboxRequestError('command must be a non-empty string of at most 256 KiB without NUL');
    }
    if (typeof cwd !== 'string' || !cwd.startsWith('/') || cwd.length > 4096 || cwd.includes('\0')) {
      throw new SandboxRequestError('cwd must be an absolute path');
    }
    if (typeof env !== 'object' || env === null || Array.isArray(env))
      throw new SandboxRequestError('env must be an object of strings');
    const envList: string[] = [];
    for (const [name, value] of Object.entries(env)) {
      if (!ENV_NAME_PATTERN.test(name))
        throw new SandboxRequestError(`env name ${JSON.stringify(name)} is not a valid variable name`);
      if (typeof value !== 'string' || value.includes('\0'))
        throw new SandboxRequestError(`env ${name} must be a string without NUL`);
      envList.push(`${name}=${value}`);
    }
    if (typeof image !== 'string' || !IMAGE_ID_PATTERN.test(image)) {
      throw new SandboxRequestError(
        'image must be an image ID sha256:<64 hex> (resolve a reference with resolveImageId)',
      );
    }
    if (!Array.isArray(secrets) || secrets.some((s) => typeof s !== 'string'))
      throw new SandboxRequestError('secrets must be strings');
    return { command, cwd, env: envList, image, limits: this.normalizeLimits(limits), secrets };
  }

  private async checkImage(imageId: string): Promise<void> {
    // A positive answer is kept briefly: the container runs the image by ID either way.
    if ((this.imageSeen.get(imageId) ?? 0) > Date.now()) return;
    try {
      const info = await this.api('inspect image', () => this.docker.getImage(imageId).inspect());
      if (info.Id !== imageId) throw new SandboxImageNotFoundError(imageId);
    } catch (error) {
      if (statusOf(error) === 404) throw new SandboxImageNotFoundError(imageId, { cause: error });
      throw this.failure('inspect image', error);
    }
    this.imageSeen.set(imageId, Date.now() + 10_000);
  }

  // ---- containers ---------------------------------------------------------------------------

  private specKey(imageId: string, limits: SandboxLimits): string {
    const { memoryBytes, nanoCpus, pidsLimit, network } = limits;
    return createHash('sha256')
      .update(
        JSON.stringify([
          imageId,
          memoryBytes,
          nanoCpus,
          pidsLimit,
          network,
          this.tmpBytes,
          this.runBytes,
          ...(this.networkDns.has(network) ? [this.networkDns.get(network)] : []),
        ]),
      )
      .digest('hex')
      .slice(0, 16);
  }

  private baseLabels(): Record<string, string> {
    return {
      [SANDBOX_LABELS.managed]: 'true',
      [SANDBOX_LABELS.instance]: this.instanceId,
      [SANDBOX_LABELS.instanceHost]: this.host,
      [SANDBOX_LABELS.instancePid]: String(process.pid),
      [SANDBOX_LABELS.instanceStart]: this.startTicks,
    };
  }

  /** The hardened container: everything a command could use to escape or exhaust the host is off. */
  private containerSpec(
    name: string,
    imageId: string,
    limits: SandboxLimits,
    volume: string,
    labels: Record<string, string>,
    volumeLabels: Record<string, string>,
  ): Docker.ContainerCreateOptions {
    const tmpfs = (bytes: number): string => `rw,noexec,nosuid,nodev,size=${bytes}`;
    return {
      name,
      Image: imageId,
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      User: SANDBOX_USER,
      WorkingDir: WORKSPACE_PATH,
      Hostname: 'sandbox',
      // Only what the network itself needs (the egress proxy's address); a command's own
      // environment comes per exec, from its grant.
      Env: [...(this.networkEnv[limits.network] ?? [])],
      Labels: { ...labels, [SANDBOX_LABELS.spec]: this.specKey(imageId, limits) },
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      OpenStdin: false,
      Tty: false,
      HostConfig: {
        Init: this.useInit,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': tmpfs(this.tmpBytes), '/run': tmpfs(this.runBytes) },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        NetworkMode: limits.network,
        ...(this.networkDns.has(limits.network) ? { Dns: [...this.networkDns.get(limits.network)!] } : {}),
        IpcMode: 'private',
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        NanoCpus: limits.nanoCpus,
        PidsLimit: limits.pidsLimit,
        OomKillDisable: false,
        Ulimits: [
          { Name: 'core', Soft: 0, Hard: 0 },
          { Name: 'nofile', Soft: 1024, Hard: 4096 },
        ],
        Mounts: [
          {
            Type: 'volume',
            Source: volume,
            Target: WORKSPACE_PATH,
            ReadOnly: false,
            // Used only when the mount creates the volume (a new session's workspace).
            VolumeOptions: {
              NoCopy: false,
              Labels: volumeLabels,
              DriverConfig: { Name: 'local', Options: {} },
            },
          },
        ],
        LogConfig: { Type: 'none', Config: {} },
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        AutoRemove: false,
      },
    };
  }

  private async createBox(
    name: string,
    imageId: string,
    limits: SandboxLimits,
    volume: string,
    sessionId: string | null,
    volumeLabels: Record<string, string>,
  ): Promise<Box> {
    const labels = {
      ...this.baseLabels(),
      [SANDBOX_LABELS.session]: sessionId ?? '',
      [SANDBOX_LABELS.pool]: sessionId === null ? 'true' : 'false',
    };
    const spec = this.containerSpec(name, imageId, limits, volume, labels, volumeLabels);
    const container = await this.api('create container', () => this.docker.createContainer(spec));
    const box: Box = {
      id: container.id,
      container,
      name,
      sessionId,
      specKey: this.specKey(imageId, limits),
      volume,
      lastUsed: Date.now(),
      busy: false,
      oomEvents: 0,
      oomEventsAccounted: 0,
      oomKills: 0,
    };
    this.boxes.set(box.id, box);
    try {
      await this.api('start container', () => container.start());
    } catch (error) {
      await this.discard(box);
      if (this.useInit && /docker-init|init binary|tini/i.test(messageOf(error))) {
        // The engine names an init binary it does not have: run without (the keeper is PID 1).
        this.logger.warn(`Docker's init is not usable, containers run without it: ${messageOf(error)}`);
        this.useInit = false;
        return this.createBox(name, imageId, limits, volume, sessionId, volumeLabels);
      }
      throw error;
    }
    return box;
  }

  private async acquire(
    sessionId: string,
    req: NormalizedRequest,
  ): Promise<{ box: Box; origin: SandboxContainerOrigin }> {
    const specKey = this.specKey(req.image, req.limits);
    const current = this.sessions.get(sessionId);
    if (current) {
      if (current.specKey === specKey) return { box: current, origin: 'warm' };
      await this.discard(current); // other image or limits: a new container on the same workspace
    }
    const volume = workspaceVolumeName(sessionId);
    if (specKey === this.poolSpecKey && this.pool.length > 0 && !(await this.volumeExists(volume))) {
      const adopted = await this.adopt(sessionId, volume);
      if (adopted) return { box: adopted, origin: 'pool' };
    }
    const name = `palisade-sbx-${sessionSlug(sessionId)}-${randomBytes(3).toString('hex')}`;
    const volumeLabels = {
      ...this.baseLabels(),
      [SANDBOX_LABELS.session]: sessionId,
      [SANDBOX_LABELS.workspace]: 'true',
    };
    const box = await this.createBox(name, req.image, req.limits, volume, sessionId, volumeLabels);
    this.sessions.set(sessionId, box);
    return { box, origin: 'cold' };
  }

  private async volumeExists(name: string): Promise<boolean> {
    try {
      await this.api('inspect volume', () => this.docker.getVolume(name).inspect());
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.failure(`inspect volume ${name}`, error);
    }
  }

  /** Hands a pool container to a session whose workspace does not exist yet (see the file header). */
  private async adopt(sessionId: string, volume: string): Promise<Box | undefined> {
    const box = this.pool.shift();
    if (!box) return undefined;
    void this.fillPool();
    try {
      if (!box.mountpoint) throw new Error('pool volume has no mount point');
      await this.api('create workspace volume', () =>
        this.docker.createVolume({
          Name: volume,
          Driver: 'local',
          DriverOpts: { type: 'none', o: 'bind', device: box.mountpoint! },
          Labels: {
            ...this.baseLabels(),
            [SANDBOX_LABELS.session]: sessionId,
            [SANDBOX_LABELS.workspace]: 'true',
            [SANDBOX_LABELS.backing]: box.volume,
          },
        }),
      );
      // Creating a volume whose name exists returns the existing one: make sure it is ours.
      const info = await this.api('inspect volume', () => this.docker.getVolume(volume).inspect());
      if (info.Labels?.[SANDBOX_LABELS.backing] !== box.volume)
        throw new Error(`workspace volume ${volume} already exists`);
    } catch (error) {
      await this.discard(box);
      if (error instanceof SandboxUnavailableError) throw error;
      this.logger.warn(`sandbox pool adoption failed, creating a container instead: ${messageOf(error)}`);
      return undefined;
    }
    box.sessionId = sessionId;
    box.lastUsed = Date.now();
    this.sessions.set(sessionId, box);
    // A readable name in `docker ps`; cosmetic, so not awaited.
    const name = `palisade-sbx-${sessionSlug(sessionId)}-${randomBytes(3).toString('hex')}`;
    box.container.rename({ name }).then(
      () => (box.name = name),
      () => undefined,
    );
    return box;
  }

  private fillPool(): Promise<void> {
    if (this.poolFill) return this.poolFill;
    this.poolFill = (async () => {
      try {
        while (!this.closed && this.poolImageId && this.pool.length < this.poolSize) {
          const box = await this.createPoolBox(this.poolImageId);
          if (this.closed) {
            await this.discard(box);
            await this.removeVolume(box.volume);
            return;
          }
          this.pool.push(box);
        }
      } catch (error) {
        if (!this.closed) {
          this.logger.warn(
            `sandbox pool: could not start a container (retrying in 5 s): ${messageOf(error)}`,
          );
          this.poolRetry = setTimeout(() => void this.fillPool(), 5_000);
          this.poolRetry.unref();
        }
      } finally {
        this.poolFill = undefined;
      }
    })();
    return this.poolFill;
  }

  private async createPoolBox(imageId: string): Promise<Box> {
    const tag = randomBytes(6).toString('hex');
    const volume = `palisade-wsp-${tag}`;
    await this.api('create pool volume', () =>
      this.docker.createVolume({
        Name: volume,
        Labels: { ...this.baseLabels(), [SANDBOX_LABELS.pool]: 'true' },
      }),
    );
    try {
      const info = await this.api('inspect pool volume', () => this.docker.getVolume(volume).inspect());
      const box = await this.createBox(`palisade-pool-${tag}`, imageId, this.defaults, volume, null, {});
      box.mountpoint = info.Mountpoint;
      return box;
    } catch (error) {
      await this.removeVolume(volume);
      throw error;
    }
  }

  /** Removes a container (kills what runs in it) and forgets it. */
  private async discard(box: Box): Promise<void> {
    this.boxes.delete(box.id);
    if (box.sessionId && this.sessions.get(box.sessionId) === box) this.sessions.delete(box.sessionId);
    const at = this.pool.indexOf(box);
    if (at >= 0) this.pool.splice(at, 1);
    await this.removeContainer(box.id);
  }

  private async removeContainer(id: string): Promise<void> {
    try {
      await this.api('remove container', () => this.docker.getContainer(id).remove({ force: true, v: true }));
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 409) return; // removal already in progress
      if (!(error instanceof SandboxUnavailableError))
        this.logger.warn(`could not remove container ${id}: ${messageOf(error)}`);
    }
  }

  /** True if removed (or already gone). */
  private async removeVolume(name: string, strict = false): Promise<boolean> {
    try {
      await this.api('remove volume', () => this.docker.getVolume(name).remove());
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return true;
      if (strict) throw this.failure(`remove volume ${name}`, error);
      this.logger.warn(`could not remove volume ${name}: ${messageOf(error)}`);
      return false;
    }
  }

  private async managedVolumes(): Promise<Docker.VolumeInspectInfo[]> {
    const { Volumes } = await this.api('list volumes', () =>
      this.docker.listVolumes({ filters: { label: [`${SANDBOX_LABELS.managed}=true`] } }),
    );
    return Volumes ?? [];
  }

  private async reapIdle(): Promise<void> {
    const now = Date.now();
    for (const [sessionId, box] of [...this.sessions]) {
      if (box.busy || now - box.lastUsed < this.idleTimeoutMs || this.locks.has(sessionId)) continue;
      try {
        await this.withSessionLock(sessionId, async () => {
          if (
            this.sessions.get(sessionId) === box &&
            !box.busy &&
            Date.now() - box.lastUsed >= this.idleTimeoutMs
          ) {
            await this.discard(box);
          }
        });
      } catch (error) {
        this.logger.warn(`idle sandbox reaping failed: ${messageOf(error)}`);
      }
    }
  }

  private defaultIsInstanceAlive(_instanceId: string, labels: Record<string, string>): boolean {
    // Same host (same PID namespace): the runner lives while its process does (same pid, same start
    // time: a restarted runner container reuses its hostname and pid 1). Another host cannot be
    // asked; by default its containers count as orphans (one runner per engine). Deployments with
    // several runners on one engine pass isInstanceAlive (e.g. asking them over NATS).
    if (labels[SANDBOX_LABELS.instanceHost] !== this.host) return false;
    return processAlive(
      Number(labels[SANDBOX_LABELS.instancePid]),
      labels[SANDBOX_LABELS.instanceStart] || undefined,
    );
  }

  // ---- commands -------------------------------------------------------------------------------

  private matcherFor(secrets: readonly string[]): SecretMatcher {
    if (secrets.length === 0) return this.knownMatcher;
    return new SecretMatcher([...this.knownSecrets, ...secrets]);
  }

  private async execute(
    box: Box,
    origin: SandboxContainerOrigin,
    req: NormalizedRequest,
    startedAt: number,
    onChunk?: OnOutputChunk,
  ): Promise<SandboxRunResult> {
    box.busy = true;
    try {
      // "oom" events that arrived between runs: refresh the counter so they are not blamed on this one.
      if (box.oomEvents !== box.oomEventsAccounted) await this.postCheck(box);
      const matcher = this.matcherFor(req.secrets);
      const stdout = new CappedRedactedStream('stdout', req.limits.outputBytes, matcher, onChunk);
      const stderr = new CappedRedactedStream('stderr', req.limits.outputBytes, matcher, onChunk);
      const demux = new DockerFrameDemuxer((stream, payload) =>
        (stream === 'stdout' ? stdout : stderr).write(payload),
      );
      const oomEventsBefore = box.oomEvents;

      const { exec, stream } = await this.startExec(
        box,
        [
          '/bin/sh',
          '-c',
          RUN_WRAPPER,
          'palisade-run',
          this.useInit ? 'init' : 'noinit',
          req.cwd,
          req.command,
        ],
        req.env,
      );

      const state: { killed: SandboxKill; killing?: Promise<void> } = { killed: 'none' };
      const timer = setTimeout(() => {
        state.killed = 'timeout';
        // The whole container goes: every process of the command with it, wherever it hid.
        state.killing = this.discard(box).finally(() => {
          setTimeout(() => stream.destroy(), 5_000).unref();
        });
      }, req.limits.timeoutMs);
      await new Promise<void>((resolve) => {
        stream.on('data', (data: Buffer) => demux.push(data));
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
      clearTimeout(timer);
      stream.destroy();
      const out = stdout.end();
      const err = stderr.end();

      let exitCode: number;
      let killed: SandboxKill = state.killed;
      if (killed === 'timeout') {
        await state.killing;
        exitCode = 137;
      } else {
        const status = await this.exitCodeOf(exec);
        if (status === 'stopped') {
          // The container went down while the command ran (its init or keeper was killed, e.g. by
          // the OOM killer or the stray clean-up giving up on a fork bomb): report, never re-run.
          if (this.closed)
            throw new SandboxUnavailableError('the sandbox runner shut down while the command ran');
          exitCode = 137;
          if (await this.containerOomKilled(box)) killed = 'oom';
          await this.discard(box);
        } else {
          exitCode = status;
          const eventsDuring = box.oomEvents !== oomEventsBefore;
          if (exitCode >= 128 || eventsDuring) {
            // A signal ended the command (or Docker saw an OOM): was it the OOM killer? This also
            // kills strays in case the command took the wrapper down with it.
            const before = box.oomKills;
            const counted = await this.postCheck(box);
            if (counted ? box.oomKills > before : eventsDuring) killed = 'oom';
          }
        }
        box.lastUsed = Date.now();
      }
      return {
        exitCode,
        stdout: out,
        stderr: err,
        truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
        durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
        killed,
        container: { id: box.id, origin },
      };
    } finally {
      box.busy = false;
    }
  }

  private async startExec(
    box: Box,
    cmd: string[],
    env: string[],
  ): Promise<{ exec: Docker.Exec; stream: Duplex }> {
    try {
      const exec = await this.api('create exec', () =>
        box.container.exec({
          Cmd: cmd,
          Env: env,
          User: SANDBOX_USER,
          WorkingDir: '/',
          AttachStdin: false,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          Privileged: false,
        }),
      );
      const stream = (await this.api('start exec', () =>
        exec.start({ hijack: true, stdin: false }),
      )) as Duplex;
      return { exec, stream };
    } catch (error) {
      const status = statusOf(error);
      if (
        status === 404 ||
        status === 409 ||
        (status === 500 && /not running|is paused|restarting/i.test(messageOf(error)))
      ) {
        throw new ContainerGoneError(messageOf(error));
      }
      throw error;
    }
  }

  /** The exec's exit code, or `stopped` if its container went away while it ran. */
  private async exitCodeOf(exec: Docker.Exec): Promise<number | 'stopped'> {
    for (let i = 0; i < 200; i += 1) {
      let info: Docker.ExecInspectInfo;
      try {
        info = await this.api('inspect exec', () => exec.inspect());
      } catch (error) {
        if (statusOf(error) === 404) return 'stopped'; // a stopped container forgets its execs
        throw error;
      }
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) {
        // No process was ever started (the container was stopping): safe to retry elsewhere.
        if (!info.Pid) throw new ContainerGoneError(`exec did not start (exit ${info.ExitCode})`);
        return info.ExitCode;
      }
      await sleep(5);
    }
    throw new SandboxFailedError('the exec did not report an exit code');
  }

  private async containerOomKilled(box: Box): Promise<boolean> {
    try {
      const info = await this.api('inspect container', () => box.container.inspect());
      return Boolean(info.State?.OOMKilled) || box.oomEvents > box.oomEventsAccounted;
    } catch {
      return box.oomEvents > box.oomEventsAccounted;
    }
  }

  /**
   * Reads the container's OOM kill counter (cgroup v1 memory.oom_control or v2 memory.events) and
   * kills stray processes. Returns false when the counter cannot be read.
   */
  private async postCheck(box: Box): Promise<boolean> {
    const events = box.oomEvents;
    try {
      const { stream } = await this.startExec(
        box,
        ['/bin/sh', '-c', POST_CHECK, 'palisade-check', this.useInit ? 'init' : 'noinit'],
        [],
      );
      let text = '';
      const demux = new DockerFrameDemuxer((name, payload) => {
        if (name === 'stdout') text += payload.toString('utf8');
      });
      await new Promise<void>((resolve) => {
        stream.on('data', (data: Buffer) => demux.push(data));
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
      stream.destroy();
      box.oomEventsAccounted = events;
      const match = /oom_kill (\d+)/.exec(text);
      if (!match) return false;
      box.oomKills = Number(match[1]);
      return true;
    } catch (error) {
      if (error instanceof ContainerGoneError) return false;
      throw error;
    }
  }

  /** Docker's "oom" events for this instance's containers, counted per container. */
  private watchEvents(): void {
    if (this.closed || this.events) return;
    const retry = (ms: number): void => {
      this.events = undefined;
      if (this.closed) return;
      clearTimeout(this.eventsRetry);
      this.eventsRetry = setTimeout(() => this.watchEvents(), ms);
      this.eventsRetry.unref();
    };
    this.docker
      .getEvents({
        filters: {
          type: ['container'],
          event: ['oom'],
          label: [`${SANDBOX_LABELS.instance}=${this.instanceId}`],
        },
      })
      .then((stream) => {
        const events = stream as NodeJS.ReadableStream & {
          destroy?: () => void;
          socket?: { unref?: () => void };
        };
        if (this.closed) {
          events.destroy?.();
          return;
        }
        this.events = events;
        events.socket?.unref?.(); // the watch alone must not keep the process alive
        let buffered = '';
        events.on('data', (data: Buffer) => {
          buffered += data.toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            try {
              const event = JSON.parse(line) as { id?: string; Actor?: { ID?: string } };
              const box = this.boxes.get(event.Actor?.ID ?? event.id ?? '');
              if (box) box.oomEvents += 1;
            } catch {
              // not an event line
            }
          }
        });
        events.once('error', () => retry(1_000));
        events.once('close', () => retry(1_000));
        events.once('end', () => retry(1_000));
      })
      .catch(() => retry(5_000));
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new SandboxUnavailableError('the sandbox runner is shut down');
  }

  /** Runs one Docker API call with a time limit; connection failures become SandboxUnavailableError. */
  private async api<T>(what: string, call: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SandboxUnavailableError(
                  `Docker at ${this.endpoint} did not answer "${what}" within ${this.apiTimeoutMs} ms`,
                ),
              ),
            this.apiTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (isConnectionError(error)) {
        const code = (error as DockerError).code ?? 'connection failed';
        throw new SandboxUnavailableError(
          `Docker is unreachable at ${this.endpoint} (${code}) during "${what}"; the sandbox fails closed and nothing was run`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Typed errors pass through; anything else becomes SandboxFailedError. */
  private failure(what: string, error: unknown): SandboxError {
    if (error instanceof SandboxError) return error;
    return new SandboxFailedError(`Docker failed to ${what}: ${messageOf(error)}`, { cause: error });
  }

  private async withSessionLock<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(sessionId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.locks.set(sessionId, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(sessionId) === tail) this.locks.delete(sessionId);
    }
  }
}
