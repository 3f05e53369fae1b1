// Sandboxed executions, on the exec aggregate (`evt.exec.<exec id>`).
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsImageId, IsSubjectToken, IsUuidV7, Optional } from '../validators';
import { CONTENT_MAX, NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

export const EXEC_KILL_REASONS = ['none', 'timeout', 'oom'] as const;
export type ExecKillReason = (typeof EXEC_KILL_REASONS)[number];

export class ExecStartedData {
  @IsUuidV7() exec: string;
  @IsSubjectToken() session: string;
  @IsUuidV7() grant: string;
  @IsImageId() image: string;
  /** Docker container id, once created. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) container?: string;
}

export class ExecFinishedData {
  @IsUuidV7() exec: string;
  @IsInt() exitCode: number;
  @IsInt() @Min(0) durationMs: number;
  @IsInt() @Min(0) stdoutBytes: number;
  @IsInt() @Min(0) stderrBytes: number;
  /** Output beyond the grant's outputBytes limit was dropped. */
  @IsBoolean() truncated: boolean;
  @IsIn(EXEC_KILL_REASONS) killed: ExecKillReason;
  /** Content: command output (untrusted; taints the session that reads it). */
  @Optional() @IsString() @MaxLength(CONTENT_MAX) stdout?: string;
  /** Content. */
  @Optional() @IsString() @MaxLength(CONTENT_MAX) stderr?: string;
}

/** Why a run did not happen or did not complete (the grant refusals are `exec.grant.refused`). */
export const EXEC_FAILURE_CODES = [
  'sandbox_unavailable',
  'image_unavailable',
  'agent_frozen',
  'sandbox_failed',
] as const;
export type ExecFailureCode = (typeof EXEC_FAILURE_CODES)[number];

export class ExecFailedData {
  @IsUuidV7() exec: string;
  @IsSubjectToken() session: string;
  /** Absent when the run failed before its grant was verified. */
  @Optional() @IsUuidV7() grant?: string;
  @IsIn(EXEC_FAILURE_CODES) code: ExecFailureCode;
  /** Whether the grant was already claimed (spent) when the run failed. */
  @IsBoolean() grantSpent: boolean;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

/**
 * not_allowlisted / malformed: the proxy refused a request; not_proxied: a packet that bypassed the
 * proxy was dropped at the network layer; dns_refused: the DNS sink refused a name; unrecorded:
 * packets dropped while the record of denials was full (counted, not itemized).
 */
export const EGRESS_DENIAL_REASONS = [
  'not_allowlisted',
  'malformed',
  'not_proxied',
  'dns_refused',
  'unrecorded',
] as const;
export type EgressDenialReason = (typeof EGRESS_DENIAL_REASONS)[number];
/** Where the denial was seen: the filtering proxy, the packet filter, or the DNS sink. */
export const EGRESS_DENIAL_VIA = ['proxy', 'direct', 'dns'] as const;
export type EgressDenialVia = (typeof EGRESS_DENIAL_VIA)[number];

export class ExecEgressDeniedData {
  /** The run the connection came from, when its source address maps to one. */
  @Optional() @IsUuidV7() exec?: string;
  @Optional() @IsSubjectToken() session?: string;
  /** Docker network of the sandbox (the egress network). */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) network: string;
  @IsIn(EGRESS_DENIAL_VIA) via: EgressDenialVia;
  /**
   * proxy: `host:port` as the process asked for it; direct: the destination address; dns: the
   * queried name. Secrets redacted, at most 256 characters; empty for `unrecorded`.
   */
  @IsString() @MaxLength(NAME_MAX) destination: string;
  /** Transport protocol of a direct or DNS denial (tcp, udp, icmp, …). */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(16) protocol?: string;
  /** Destination port (direct: tcp/udp only; dns: 53). */
  @Optional() @IsInt() @Min(0) @Max(65535) port?: number;
  /** Packets dropped (direct) or queries refused (dns) since the previous record. */
  @Optional() @IsInt() @Min(1) packets?: number;
  /** CONNECT, or the HTTP method of a plain proxy request. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(32) method?: string;
  /** The sandbox container's address on the egress network (the packet's source). */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(64) client?: string;
  @IsIn(EGRESS_DENIAL_REASONS) reason: EgressDenialReason;
}

declare module './registry' {
  interface EventPayloads {
    'exec.started': ExecStartedData;
    'exec.finished': ExecFinishedData;
    'exec.failed': ExecFailedData;
    'exec.egress.denied': ExecEgressDeniedData;
  }
}

registerEvent({
  type: 'exec.started',
  version: 1,
  aggregateType: 'exec',
  payload: ExecStartedData,
  contentFields: [],
  description: 'A granted command started in its sandbox container.',
});
registerEvent({
  type: 'exec.finished',
  version: 1,
  aggregateType: 'exec',
  payload: ExecFinishedData,
  contentFields: ['stdout', 'stderr'],
  description: 'A sandboxed command ended (exit, timeout or out of memory).',
});
registerEvent({
  type: 'exec.failed',
  version: 1,
  aggregateType: 'exec',
  payload: ExecFailedData,
  contentFields: [],
  description: 'A granted run could not start or complete (Docker unreachable, image missing, agent frozen).',
});
registerEvent({
  type: 'exec.egress.denied',
  version: 1,
  aggregateType: 'exec',
  payload: ExecEgressDeniedData,
  contentFields: [],
  description:
    'A sandbox connection or name lookup not on the egress allowlist was refused (by the proxy, the packet filter or the DNS sink).',
});
