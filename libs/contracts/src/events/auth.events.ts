// Authentication and authorisation at the gateway and on NATS (auth aggregate), and API key
// lifecycle (apikey aggregate). A key's secret part never appears: only its id, label and scopes.
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsString,
  MaxLength,
  Min,
} from 'class-validator';
import { SCOPES, type Scope } from '../enums';
import { IsRfc3339Utc, IsUuidV7, Optional } from '../validators';
import { NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

export const LOGIN_METHODS = ['password', 'apikey'] as const;
export type LoginMethod = (typeof LOGIN_METHODS)[number];
export const NATS_OPERATIONS = ['publish', 'subscribe'] as const;
export type NatsOperation = (typeof NATS_OPERATIONS)[number];

export class ApiKeyData {
  /** The key's public id — never the key itself. */
  @IsUuidV7() keyId: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) label: string;
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SCOPES.length)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes: Scope[];
  @Optional() @IsRfc3339Utc() expiresAt?: string;
}

export class ApiKeyRevokedData {
  @IsUuidV7() keyId: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) label: string;
  @IsArray() @ArrayMaxSize(SCOPES.length) @ArrayUnique() @IsIn(SCOPES, { each: true }) scopes: Scope[];
  @Optional() @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason?: string;
}

export class AuthLoginFailedData {
  /** The user name tried, if any (an API key attempt may have none). */
  @Optional() @IsString() @MaxLength(NAME_MAX) user?: string;
  @IsIn(LOGIN_METHODS) method: LoginMethod;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) remote?: string;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

export class AuthLockoutData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) user: string;
  @IsRfc3339Utc() until: string;
  @IsInt() @Min(1) failures: number;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) remote?: string;
}

export class AuthScopeDeniedData {
  @IsIn(SCOPES) required: Scope;
  /** What was attempted, e.g. `POST /api/approvals/:id/decide`. */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) operation: string;
  @Optional() @IsUuidV7() keyId?: string;
}

export class GatewayOriginRejectedData {
  @IsString() @MaxLength(NAME_MAX) origin: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) remote?: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) operation?: string;
}

export class NatsPermissionViolationData {
  /** NATS user (a service name, `soc` or `admin`). */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) service: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) subject: string;
  @IsIn(NATS_OPERATIONS) op: NatsOperation;
}

declare module './registry' {
  interface EventPayloads {
    'apikey.created': ApiKeyData;
    'apikey.revoked': ApiKeyRevokedData;
    'auth.login.failed': AuthLoginFailedData;
    'auth.lockout': AuthLockoutData;
    'auth.scope.denied': AuthScopeDeniedData;
    'gateway.origin.rejected': GatewayOriginRejectedData;
    'nats.permission.violation': NatsPermissionViolationData;
  }
}

registerEvent({
  type: 'apikey.created',
  version: 1,
  aggregateType: 'apikey',
  payload: ApiKeyData,
  contentFields: [],
  description: 'An operator API key was created (its secret is shown once, never recorded).',
});
registerEvent({
  type: 'apikey.revoked',
  version: 1,
  aggregateType: 'apikey',
  payload: ApiKeyRevokedData,
  contentFields: [],
  description: 'An API key was revoked.',
});
registerEvent({
  type: 'auth.login.failed',
  version: 1,
  aggregateType: 'auth',
  payload: AuthLoginFailedData,
  contentFields: [],
  description: 'A password or API key login failed.',
});
registerEvent({
  type: 'auth.lockout',
  version: 1,
  aggregateType: 'auth',
  payload: AuthLockoutData,
  contentFields: [],
  description: 'Too many failures: logins for a user are refused until a time.',
});
registerEvent({
  type: 'auth.scope.denied',
  version: 1,
  aggregateType: 'auth',
  payload: AuthScopeDeniedData,
  contentFields: [],
  description: 'An authenticated caller lacked the scope an operation needs.',
});
registerEvent({
  type: 'gateway.origin.rejected',
  version: 1,
  aggregateType: 'auth',
  payload: GatewayOriginRejectedData,
  contentFields: [],
  description: 'A browser request or WebSocket came from an origin that is not allowed.',
});
registerEvent({
  type: 'nats.permission.violation',
  version: 1,
  aggregateType: 'auth',
  payload: NatsPermissionViolationData,
  contentFields: [],
  description: 'nats-server refused a publish or subscribe by one of our users.',
});
