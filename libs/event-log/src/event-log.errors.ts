export enum EventLogErrorCode {
  /** Optimistic concurrency: the aggregate moved on since the caller read it. */
  Conflict = 'conflict',
  /** JetStream did not answer (down, no quorum): the append may or may not be stored. */
  Unavailable = 'unavailable',
  /** The server refused the append (permissions, stream full, …). */
  Rejected = 'rejected',
  /** A stored message could not be parsed or validated. */
  Corrupt = 'corrupt',
}

export class EventLogError extends Error {
  constructor(
    readonly code: EventLogErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'EventLogError';
  }
}

export class ConcurrencyError extends EventLogError {
  constructor(subject: string, expected: number) {
    super(EventLogErrorCode.Conflict, `${subject} is no longer at version ${expected}`, { subject, expected });
    this.name = 'ConcurrencyError';
  }
}
