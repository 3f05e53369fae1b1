// Credential broker access log, on the credential aggregate. A value never appears in an event:
// only which entry was read, by whom, and why.
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsSubjectToken, Optional } from '../validators';
import { NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

export class CredentialAccessedData {
  /** Entry id in the password store (e.g. a Nextcloud Passwords UUID). */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) entry: string;
  /** Who asked: a service name or session id. */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) requester: string;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) purpose: string;
  @Optional() @IsSubjectToken() session?: string;
}

declare module './registry' {
  interface EventPayloads {
    'credential.accessed': CredentialAccessedData;
  }
}

registerEvent({
  type: 'credential.accessed',
  version: 1,
  aggregateType: 'credential',
  payload: CredentialAccessedData,
  contentFields: [],
  description: 'The credential broker released a secret (the value is never recorded).',
});
