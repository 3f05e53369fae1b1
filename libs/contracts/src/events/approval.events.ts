// Approval of a command, on the approval aggregate (`evt.approval.<approval id>`). The command
// stays visible in the audit feed — it is what a SOC needs to see — with secrets redacted.
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  ACTOR_TYPES,
  APPROVAL_DECISIONS,
  APPROVAL_MODES,
  type ActorType,
  type ApprovalDecision,
  type ApprovalMode,
} from '../enums';
import { GrantLimitsSchema } from '../grant-limits';
import { IsImageId, IsRfc3339Utc, IsStringMap, IsSubjectToken, IsUuidV7, Optional } from '../validators';
import { COMMAND_MAX, LIST_MAX, NAME_MAX, PATH_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

/** Absolute path without NUL bytes. */
export const ABSOLUTE_PATH_PATTERN = /^\/[^\0]*$/;

export class ExecApprovalRequestedData {
  @IsUuidV7() approval: string;
  @IsSubjectToken() session: string;
  @IsString() @IsNotEmpty() @MaxLength(COMMAND_MAX) command: string;
  @IsString()
  @MaxLength(PATH_MAX)
  @Matches(ABSOLUTE_PATH_PATTERN, { message: 'cwd must be an absolute path' })
  cwd: string;
  /** Environment the command will get, if any is set explicitly (nothing is inherited). */
  @Optional() @IsStringMap() env?: Record<string, string>;
  @IsImageId() image: string;
  /** Why a human is asked, e.g. the dangerous-floor rule that matched. */
  @IsArray()
  @ArrayMaxSize(LIST_MAX)
  @IsString({ each: true })
  @MaxLength(REASON_MAX, { each: true })
  reasons: string[];
  @IsIn(APPROVAL_MODES) mode: ApprovalMode;
  /** When the request times out (decision `timeout`). */
  @IsRfc3339Utc() deadline: string;
  /** Channel and conversation the request was raised in: that channel's admins may decide. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel?: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation?: string;
  /** Limits the grant will bind; recorded so a grant can be signed again from the log after a crash. */
  @Optional() @ValidateNested() @Type(() => GrantLimitsSchema) limits?: GrantLimitsSchema;
  /** The agent whose mode applied (its freeze denies the request). */
  @Optional() @IsSubjectToken() agent?: string;
}

export class DeciderData {
  @IsIn(ACTOR_TYPES) type: ActorType;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) id: string;
}

export class ExecApprovalResolvedData {
  @IsUuidV7() approval: string;
  @IsIn(APPROVAL_DECISIONS) decision: ApprovalDecision;
  /** Required for `auto`: the policy rule that allowed the command. */
  @ValidateIf((o: ExecApprovalResolvedData) => o.decision === 'auto' || o.rule !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX)
  rule?: string;
  @Optional() @ValidateNested() @Type(() => DeciderData) decider?: DeciderData;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
  /** Required for `modified`: the command as the decider changed it (the grant carries this one). */
  @ValidateIf((o: ExecApprovalResolvedData) => o.decision === 'modified' || o.command !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(COMMAND_MAX)
  command?: string;
}

declare module './registry' {
  interface EventPayloads {
    'exec.approval.requested': ExecApprovalRequestedData;
    'exec.approval.resolved': ExecApprovalResolvedData;
  }
}

registerEvent({
  type: 'exec.approval.requested',
  version: 1,
  aggregateType: 'approval',
  payload: ExecApprovalRequestedData,
  contentFields: [],
  description: 'A command needs a decision before it may run.',
});
registerEvent({
  type: 'exec.approval.resolved',
  version: 1,
  aggregateType: 'approval',
  payload: ExecApprovalResolvedData,
  contentFields: [],
  description: 'An approval ended: approved, denied, modified, timed out or auto-approved by a rule.',
});
