// NATS stream names, subjects and the helpers that build them. Every subject in the system is
// built here so that the permission manifest, producers and consumers can never drift apart.

/** JetStream stream holding all domain events (`evt.>`). */
export const EVENTS_STREAM = 'EVENTS';
/** JetStream stream capturing the SOC feed (`audit.>`), published only by ledger. */
export const AUDIT_STREAM = 'AUDIT';
export const EVENTS_SUBJECTS = 'evt.>';
export const AUDIT_SUBJECTS = 'audit.>';
/** Where ledger publishes each signed checkpoint for the SOC (besides its audit record). */
export const AUDIT_CHECKPOINT_SUBJECT = 'audit.checkpoint';

/** The eight processes. Their NATS users and `palisade/<service>` event sources use these names. */
export const SERVICE_NAMES = [
  'gateway',
  'approvals',
  'sandbox-exec',
  'channels',
  'cron',
  'credential-broker',
  'llm-router',
  'ledger',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Token used in `cmd.<token>.<verb>`; shorter than the service name (e.g. `cmd.sandbox.run`). */
export const SERVICE_COMMAND_TOKENS = {
  gateway: 'gateway',
  approvals: 'approvals',
  'sandbox-exec': 'sandbox',
  channels: 'channels',
  cron: 'cron',
  'credential-broker': 'broker',
  'llm-router': 'llm',
  ledger: 'ledger',
} as const satisfies Record<ServiceName, string>;
export type CommandToken = (typeof SERVICE_COMMAND_TOKENS)[ServiceName];
export const COMMAND_TOKENS: readonly CommandToken[] = Object.values(SERVICE_COMMAND_TOKENS);

/** Aggregate types: the second token of `evt.<aggregate type>.<aggregate id>`. */
export const AGGREGATE_TYPES = [
  'session',
  'approval',
  'exec',
  'grant',
  'sender',
  'cronjob',
  'credential',
  'apikey',
  'agent',
  'ledger',
  'channel',
  'auth',
] as const;
export type AggregateType = (typeof AGGREGATE_TYPES)[number];

/** Aggregate ids are opaque single subject tokens: no dots, spaces or wildcards. */
export const SUBJECT_TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;
export const SUBJECT_TOKEN_MAX_LENGTH = 128;
/** Event types: dotted lower-case words, e.g. `exec.approval.requested`. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_]*)+$/;
/** Command verbs: one or more lower-case tokens, e.g. `run` or `session.list`. */
const VERB_PATTERN = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)*$/;

export class SubjectError extends Error {
  override readonly name = 'SubjectError';
}

export function isServiceName(value: unknown): value is ServiceName {
  return typeof value === 'string' && (SERVICE_NAMES as readonly string[]).includes(value);
}

export function isAggregateType(value: unknown): value is AggregateType {
  return typeof value === 'string' && (AGGREGATE_TYPES as readonly string[]).includes(value);
}

export function isSubjectToken(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= SUBJECT_TOKEN_MAX_LENGTH && SUBJECT_TOKEN_PATTERN.test(value)
  );
}

export function commandTokenOf(service: ServiceName): CommandToken {
  if (!isServiceName(service)) throw new SubjectError(`unknown service ${JSON.stringify(service)}`);
  return SERVICE_COMMAND_TOKENS[service];
}

/**
 * `evt.<aggregate type>.<aggregate id>`; throws if either part could break the subject. Takes any
 * string (checked at run time) because aggregate types often come from the registry or the wire.
 */
export function eventSubject(aggregateType: AggregateType | (string & {}), aggregateId: string): string {
  if (!isAggregateType(aggregateType)) {
    throw new SubjectError(`unknown aggregate type ${JSON.stringify(aggregateType)}`);
  }
  if (!isSubjectToken(aggregateId)) {
    throw new SubjectError(
      `aggregate id ${JSON.stringify(aggregateId)} is not a subject-safe token ([A-Za-z0-9_-]{1,${SUBJECT_TOKEN_MAX_LENGTH}})`,
    );
  }
  return `evt.${aggregateType}.${aggregateId}`;
}

/** Inverse of eventSubject; throws on anything eventSubject would not have produced. */
export function parseEventSubject(subject: string): { aggregateType: AggregateType; aggregateId: string } {
  const parts = typeof subject === 'string' ? subject.split('.') : [];
  if (parts.length !== 3 || parts[0] !== 'evt' || !isAggregateType(parts[1]) || !isSubjectToken(parts[2])) {
    throw new SubjectError(`not an event subject: ${JSON.stringify(subject)}`);
  }
  return { aggregateType: parts[1], aggregateId: parts[2] };
}

/** `audit.<event type>` — the SOC feed subject for one event type. */
export function auditSubject(eventType: string): string {
  if (typeof eventType !== 'string' || !EVENT_TYPE_PATTERN.test(eventType)) {
    throw new SubjectError(`not an event type: ${JSON.stringify(eventType)}`);
  }
  return `audit.${eventType}`;
}

/** `cmd.<token>.<verb>`, e.g. cmdSubject('sandbox', 'run') = `cmd.sandbox.run`. */
export function cmdSubject(token: CommandToken, verb: string): string {
  if (!(COMMAND_TOKENS as readonly string[]).includes(token)) {
    throw new SubjectError(`unknown command token ${JSON.stringify(token)}`);
  }
  if (typeof verb !== 'string' || !VERB_PATTERN.test(verb)) {
    throw new SubjectError(`not a command verb: ${JSON.stringify(verb)}`);
  }
  return `cmd.${token}.${verb}`;
}

/** `health.<service name>`. */
export function healthSubject(service: ServiceName): string {
  if (!isServiceName(service)) throw new SubjectError(`unknown service ${JSON.stringify(service)}`);
  return `health.${service}`;
}
