// The grant approvals signs and sandbox-exec checks (contracts: "Grant"). A grant binds one
// approved command to its exact cwd, environment, image and limits, and expires. sandbox-exec
// verifies the signature BEFORE parsing the payload, so unauthenticated bytes never reach the
// JSON parser or the validators; then it requires the request to equal the grant field by field.
import { plainToInstance, Type } from 'class-transformer';
import { IsNotEmpty, IsString, Matches, MaxLength, ValidateNested, validateSync } from 'class-validator';
import { type KeyObject, sign, verify } from 'node:crypto';
import { ABSOLUTE_PATH_PATTERN } from './events/approval.events';
import { COMMAND_MAX, PATH_MAX } from './events/field-limits';
import { GrantError, GrantErrorCode, type GrantField } from './grant.error';
import { type GrantLimits, GrantLimitsSchema } from './grant-limits';
import { jcs } from './jcs';
import { parseRfc3339Utc } from './rfc3339';
import {
  flattenValidationErrors,
  forbiddenKeyIssues,
  IsImageId,
  IsRfc3339Utc,
  IsStringMap,
  IsSubjectToken,
  IsUuidV7,
  type ValidationIssue,
} from './validators';

export { DOCKER_NETWORK_PATTERN, type GrantLimits, GrantLimitsSchema } from './grant-limits';

export interface Grant {
  grant: string;
  approval: string;
  session: string;
  /** The exact command string that will run. */
  command: string;
  cwd: string;
  /** Explicit environment; nothing is inherited. */
  env: Record<string, string>;
  /** Image id `sha256:…` (not a tag, which could be moved). */
  image: string;
  limits: GrantLimits;
  /** RFC 3339 UTC expiry. */
  exp: string;
}

export interface SignedGrant {
  /** JCS text of the Grant: exactly the bytes signed. */
  payload: string;
  /** Base64url (unpadded) Ed25519 signature over the UTF-8 payload. */
  signature: string;
}

/** The fields of a run request that must equal the grant's. */
export interface GrantRequest {
  command: string;
  cwd: string;
  env?: Record<string, string>;
  image: string;
}

const MAX_SIGNED_PAYLOAD = 256 * 1024;

export class GrantSchema implements Grant {
  @IsUuidV7() grant: string;
  @IsSubjectToken() approval: string;
  @IsSubjectToken() session: string;
  @IsString() @IsNotEmpty() @MaxLength(COMMAND_MAX) command: string;
  @IsString()
  @MaxLength(PATH_MAX)
  @Matches(ABSOLUTE_PATH_PATTERN, { message: 'cwd must be an absolute path' })
  cwd: string;
  @IsStringMap() env: Record<string, string>;
  @IsImageId() image: string;
  @ValidateNested() @Type(() => GrantLimitsSchema) limits: GrantLimitsSchema;
  @IsRfc3339Utc() exp: string;
}

/** Problems with a grant's shape (paths like `limits.network`); empty if it is well formed. */
export function grantIssues(grant: unknown): ValidationIssue[] {
  if (grant === null || typeof grant !== 'object' || Array.isArray(grant))
    return [{ path: '$', problem: 'must be an object' }];
  const forbidden = forbiddenKeyIssues(grant, '$').map((i) => ({ ...i, path: i.path.slice(2) }));
  if (forbidden.length > 0) return forbidden;
  const errors = validateSync(plainToInstance(GrantSchema, grant), {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  });
  return flattenValidationErrors(errors, '$').map((i) => ({ ...i, path: i.path.slice(2) }));
}

function describe(issues: ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.problem}`).join('; ');
}

/** Signs a grant: payload = JCS(grant), signature = base64url Ed25519. Throws `malformed` on a bad grant. */
export function signGrant(privateKey: KeyObject, grant: Grant): SignedGrant {
  const issues = grantIssues(grant);
  if (issues.length > 0) throw new GrantError(GrantErrorCode.Malformed, describe(issues));
  const payload = jcs(grant);
  const signature = sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64url');
  return { payload, signature };
}

/**
 * Verifies a signed grant and returns it. Order matters: shape of the envelope → signature →
 * parse → schema and canonical form → expiry. Throws GrantError with the failing code.
 */
export function verifyGrant(publicKey: KeyObject, signed: SignedGrant, now: Date = new Date()): Grant {
  if (
    signed === null ||
    typeof signed !== 'object' ||
    typeof signed.payload !== 'string' ||
    typeof signed.signature !== 'string' ||
    signed.payload.length > MAX_SIGNED_PAYLOAD ||
    !/^[A-Za-z0-9_-]{86}$/.test(signed.signature)
  ) {
    throw new GrantError(
      GrantErrorCode.Malformed,
      'expected {payload: string, signature: base64url Ed25519}',
    );
  }
  let valid: boolean;
  try {
    valid = verify(
      null,
      Buffer.from(signed.payload, 'utf8'),
      publicKey,
      Buffer.from(signed.signature, 'base64url'),
    );
  } catch {
    valid = false; // e.g. a key of the wrong type: still a refusal, never a crash
  }
  if (!valid)
    throw new GrantError(GrantErrorCode.BadSignature, 'signature does not verify with the approvals key');

  let grant: Grant;
  try {
    grant = JSON.parse(signed.payload) as Grant;
  } catch {
    throw new GrantError(GrantErrorCode.Malformed, 'payload is not JSON');
  }
  const issues = grantIssues(grant);
  if (issues.length > 0) throw new GrantError(GrantErrorCode.Malformed, describe(issues));
  // One spelling only: duplicate keys or reordered fields would let two parsers disagree.
  if (jcs(grant) !== signed.payload)
    throw new GrantError(GrantErrorCode.Malformed, 'payload is not in canonical (JCS) form');

  if (parseRfc3339Utc(grant.exp) <= now.getTime()) {
    throw new GrantError(GrantErrorCode.Expired, `grant expired at ${grant.exp}`);
  }
  return grant;
}

export type GrantMatch = { ok: true } | { ok: false; field: GrantField; message: string };

/** Exact equality of the request's command, cwd, env (same keys, same values) and image. */
export function grantMatches(grant: Grant, request: GrantRequest): GrantMatch {
  if (request.command !== grant.command)
    return { ok: false, field: 'command', message: 'command differs from the granted one' };
  if (request.cwd !== grant.cwd)
    return { ok: false, field: 'cwd', message: 'cwd differs from the granted one' };
  const want = grant.env;
  const got = request.env ?? {};
  const wantKeys = Object.keys(want).sort();
  const gotKeys = Object.keys(got).sort();
  if (wantKeys.length !== gotKeys.length || wantKeys.some((k, i) => k !== gotKeys[i])) {
    return { ok: false, field: 'env', message: 'env variables differ from the granted set' };
  }
  const changed = wantKeys.find((k) => got[k] !== want[k]);
  if (changed !== undefined)
    return { ok: false, field: 'env', message: `env ${changed} differs from the granted value` };
  if (request.image !== grant.image)
    return { ok: false, field: 'image', message: 'image differs from the granted one' };
  return { ok: true };
}

/** verifyGrant() then grantMatches(); throws GrantError `mismatch` naming the field. */
export function verifyGrantForRequest(
  publicKey: KeyObject,
  signed: SignedGrant,
  request: GrantRequest,
  now: Date = new Date(),
): Grant {
  const grant = verifyGrant(publicKey, signed, now);
  const match = grantMatches(grant, request);
  if (!match.ok) throw new GrantError(GrantErrorCode.Mismatch, match.message, match.field);
  return grant;
}
