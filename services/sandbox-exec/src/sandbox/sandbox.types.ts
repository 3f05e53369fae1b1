// Shapes of the Docker sandbox runner's API (docker-sandbox.repository.ts).
import type Docker from 'dockerode';
import type { OnOutputChunk } from './exec-output';

/** Resource limits of one run. Same shape as a grant's `limits` (libs/contracts, GrantLimits). */
export interface SandboxLimits {
  /** Memory of the container's cgroup; swap is set equal, so there is none. */
  memoryBytes: number;
  /** CPU time in billionths of a CPU (1e9 = one CPU). */
  nanoCpus: number;
  /** Processes and threads the container may hold at once. */
  pidsLimit: number;
  /** Wall time of the command; past it the whole container is killed and removed. */
  timeoutMs: number;
  /** Output kept per stream (stdout, stderr); the rest is dropped and `truncated` set. */
  outputBytes: number;
  /** `none` (default), or the name of a Docker network; never `host`. */
  network: string;
}

export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryBytes: 512 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pidsLimit: 256,
  timeoutMs: 120_000,
  outputBytes: 200 * 1024,
  network: 'none',
});

export interface SandboxRunRequest {
  /** The exact command; run as `bash -c <command>`. */
  command: string;
  /** Absolute working directory inside the container (usually under /workspace). */
  cwd: string;
  /** The command's environment, explicitly; nothing of the runner's environment is passed on. */
  env?: Record<string, string>;
  /** Image ID `sha256:<64 hex>` (what a grant binds); refused unless it exists locally. */
  image: string;
  limits?: Partial<SandboxLimits>;
  /** Secret values to redact from this run's output (in addition to the runner's known secrets). */
  secrets?: readonly string[];
}

export type SandboxKill = 'none' | 'timeout' | 'oom';

/** Where the run's container came from. */
export type SandboxContainerOrigin = 'warm' | 'pool' | 'cold';

export interface SandboxRunResult {
  /** The command's exit status (128 + signal when a signal ended it; 137 after a timeout kill). */
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: { stdout: boolean; stderr: boolean };
  /** Wall time of the whole run() call, container acquisition included. */
  durationMs: number;
  /**
   * `timeout`: the limit passed and the container was killed (and removed);
   * `oom`: a process of this command was killed by the kernel's OOM killer (memory limit).
   */
  killed: SandboxKill;
  container: { id: string; origin: SandboxContainerOrigin };
}

export type { OnOutputChunk, OutputChunk, OutputStreamName } from './exec-output';
export type RunOutputCallback = OnOutputChunk;

export interface SandboxLogger {
  warn(message: string): void;
  debug?(message: string): void;
}

export interface DockerSandboxOptions {
  /** A ready dockerode client; otherwise one is made from `socketPath`. */
  docker?: Docker;
  /** Docker socket path; default: DOCKER_HOST as dockerode reads it (unix:// or tcp://), else /var/run/docker.sock. */
  socketPath?: string;
  /** This runner's identity, written on every container as palisade.instance. Default: random. */
  instanceId?: string;
  /** Pre-started containers kept ready for new sessions (default 2; 0 disables the pool). */
  poolSize?: number;
  /** Image (reference or ID) of the pool's containers; default palisade/sandbox:latest. */
  poolImage?: string;
  /** A session's container is removed after this long without a command (default 10 min). */
  idleTimeoutMs?: number;
  /** How often idle containers are looked for (default: idleTimeoutMs / 4, at most 60 s). */
  reapIntervalMs?: number;
  /** Limits of a run that names none (and of the pool's containers). */
  defaultLimits?: Partial<SandboxLimits>;
  /** Sizes of the tmpfs mounts (default /tmp 64 MiB, /run 8 MiB). */
  tmpfsBytes?: { tmp?: number; run?: number };
  /** Secret values redacted from every run's output. */
  knownSecrets?: Iterable<string>;
  /**
   * Whether another runner instance still lives (its containers are then left alone by
   * cleanupOrphans). Gets the instance id and the labels of one of its containers. Default: an
   * instance on this host lives while its process does; one on another host counts as dead.
   */
  isInstanceAlive?: (instanceId: string, labels: Record<string, string>) => boolean | Promise<boolean>;
  /** Time limit of one Docker API call (not of a command) before Docker counts as unavailable (default 30 s). */
  apiTimeoutMs?: number;
  logger?: SandboxLogger;
  /**
   * Container environment per Docker network (e.g. the egress network's proxy variables). Set on the
   * container, not per command, so a grant's explicit env stays exactly what it lists.
   */
  networkEnv?: Record<string, readonly string[]>;
}
