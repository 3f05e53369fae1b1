// Sandboxed executions, on the exec aggregate (`evt.exec.<exec id>`).
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsString, MaxLength, Min } from 'class-validator';
import { IsImageId, IsSubjectToken, IsUuidV7, Optional } from '../validators';
import { CONTENT_MAX, NAME_MAX } from './field-limits';
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

declare module './registry' {
  interface EventPayloads {
    'exec.started': ExecStartedData;
    'exec.finished': ExecFinishedData;
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
