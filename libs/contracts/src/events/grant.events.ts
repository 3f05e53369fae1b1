// Grant lifecycle. `exec.grant.issued` goes on the approval aggregate, not the grant's: the claim
// (`exec.grant.used`) must be the FIRST event on `evt.grant.<grant id>` — it is appended with
// expected last subject sequence 0, which is what makes a second use fail.
import { IsIn, IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { IsImageId, IsRfc3339Utc, IsSubjectToken, IsUuidV7, Optional } from '../validators';
import { ABSOLUTE_PATH_PATTERN } from './approval.events';
import { COMMAND_MAX, NAME_MAX, PATH_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

/** Why sandbox-exec refused a grant: GrantErrorCode values plus the lost claim race. */
export const GRANT_REFUSAL_CODES = [
  'bad_signature',
  'expired',
  'malformed',
  'mismatch',
  'already_used',
] as const;
export type GrantRefusalCode = (typeof GRANT_REFUSAL_CODES)[number];

export class ExecGrantIssuedData {
  @IsUuidV7() grant: string;
  @IsUuidV7() approval: string;
  @IsSubjectToken() session: string;
  @IsString() @IsNotEmpty() @MaxLength(COMMAND_MAX) command: string;
  @IsString()
  @MaxLength(PATH_MAX)
  @Matches(ABSOLUTE_PATH_PATTERN, { message: 'cwd must be an absolute path' })
  cwd: string;
  @IsImageId() image: string;
  @IsRfc3339Utc() exp: string;
}

export class ExecGrantUsedData {
  @IsUuidV7() grant: string;
  @IsUuidV7() approval: string;
  @IsSubjectToken() session: string;
  /** The execution the grant was spent on. */
  @Optional() @IsUuidV7() exec?: string;
}

export class ExecGrantRefusedData {
  /** Absent when the grant could not even be parsed. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) grant?: string;
  @Optional() @IsSubjectToken() session?: string;
  @Optional() @IsIn(GRANT_REFUSAL_CODES) code?: GrantRefusalCode;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

declare module './registry' {
  interface EventPayloads {
    'exec.grant.issued': ExecGrantIssuedData;
    'exec.grant.used': ExecGrantUsedData;
    'exec.grant.refused': ExecGrantRefusedData;
  }
}

registerEvent({
  type: 'exec.grant.issued',
  version: 1,
  aggregateType: 'approval',
  payload: ExecGrantIssuedData,
  contentFields: [],
  description: 'approvals signed a grant for an approved command.',
});
registerEvent({
  type: 'exec.grant.used',
  version: 1,
  aggregateType: 'grant',
  payload: ExecGrantUsedData,
  contentFields: [],
  description: 'sandbox-exec claimed a grant (first and only event on the grant subject).',
});
registerEvent({
  type: 'exec.grant.refused',
  version: 1,
  aggregateType: 'exec',
  payload: ExecGrantRefusedData,
  contentFields: [],
  description: 'sandbox-exec refused a run request because its grant was bad, expired, mismatched or spent.',
});
