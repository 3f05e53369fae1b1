// Typed failures of the Docker sandbox. The runner fails closed: when Docker cannot be reached the
// caller gets SandboxUnavailableError and the command does not run anywhere else.

export type SandboxErrorCode =
  'SANDBOX_UNAVAILABLE' | 'SANDBOX_IMAGE_NOT_FOUND' | 'SANDBOX_INVALID_REQUEST' | 'SANDBOX_FAILED';

export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Docker is unreachable (socket missing, refused, not answering) or the runner is shutting down. */
export class SandboxUnavailableError extends SandboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SANDBOX_UNAVAILABLE', message, options);
  }
}

/** The image ID a run names (the one its grant binds) does not exist in the local engine. */
export class SandboxImageNotFoundError extends SandboxError {
  constructor(
    readonly image: string,
    options?: { cause?: unknown },
  ) {
    super(
      'SANDBOX_IMAGE_NOT_FOUND',
      `sandbox image ${image} does not exist in the local Docker engine`,
      options,
    );
  }
}

/** The run request is malformed (bad session id, cwd, env name, image reference or limit). */
export class SandboxRequestError extends SandboxError {
  constructor(message: string) {
    super('SANDBOX_INVALID_REQUEST', message);
  }
}

/** Docker answered but refused or failed an operation the run needs. */
export class SandboxFailedError extends SandboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SANDBOX_FAILED', message, options);
  }
}
