// Thrown when an event (or audit record) breaks the contract. Carries every problem found, each
// with the path of the offending field, so a producer's bug is fixed in one round.
import type { ValidationIssue } from './validators';

export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';

  constructor(
    readonly issues: readonly ValidationIssue[],
    readonly eventType?: string,
  ) {
    const what = eventType ? `event ${JSON.stringify(eventType)}` : 'event';
    super(`invalid ${what}: ${issues.map((i) => `${i.path}: ${i.problem}`).join('; ')}`);
  }
}
