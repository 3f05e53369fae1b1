// Why a grant is refused. One code per failure so sandbox-exec can record it in
// `exec.grant.refused` and tests can assert the exact reason.

export const GrantErrorCode = {
  /** Signature does not verify with approvals' public key (forged or altered). */
  BadSignature: 'bad_signature',
  /** `exp` is not in the future. */
  Expired: 'expired',
  /** Not a well-formed signed grant, or the signed payload is not a valid canonical grant. */
  Malformed: 'malformed',
  /** The run request's command, cwd, env or image differs from the grant's. */
  Mismatch: 'mismatch',
  /** The grant was already claimed (`exec.grant.used` exists); raised by sandbox-exec. */
  AlreadyUsed: 'already_used',
} as const;
export type GrantErrorCode = (typeof GrantErrorCode)[keyof typeof GrantErrorCode];

export class GrantError extends Error {
  override readonly name = 'GrantError';

  constructor(
    readonly code: GrantErrorCode,
    message: string,
    /** For `mismatch`: which field differs. */
    readonly field?: GrantField,
  ) {
    super(`${code}: ${message}`);
  }
}

/** The request fields a grant binds. */
export type GrantField = 'command' | 'cwd' | 'env' | 'image';
