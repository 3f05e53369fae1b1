import type { GrantLimits, SignedGrant } from '../grant';
import type { ExecKillReason } from '../events/exec.events';

/** cmd.sandbox.info — the image id, default limits and egress of the sandbox (the gateway binds them). */
export const SANDBOX_INFO = 'cmd.sandbox.info';
/** cmd.sandbox.run — run a granted command. */
export const SANDBOX_RUN = 'cmd.sandbox.run';

export interface SandboxInfoReply {
  image: string;
  limits: GrantLimits;
  /** true when commands can reach a network (allowlisted egress); false for network none. */
  egress: boolean;
}

export interface SandboxRunRequest {
  grant: SignedGrant;
  session: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  image: string;
  /** The turn's correlation id (UUIDv7); every event of the run carries it. Default: the exec id. */
  correlationId?: string;
  /** The event that caused the run (UUIDv7), e.g. the turn's `agent.tool.called`. */
  causationId?: string;
}

export interface SandboxRunReply {
  exec: string;
  exitCode: number;
  durationMs: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  killed: ExecKillReason;
}
