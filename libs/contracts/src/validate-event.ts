// Envelope + payload validation. "An event that fails validation is never appended": producers
// call this through createEvent(), the event log calls it again before appending, and consumers
// may call it on receipt. Unknown types are errors, never passed through.
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ACTOR_TYPES, TRUST_LEVELS } from './enums';
import {
  AUDIT_RECORD_EXTENSIONS,
  type AuditRecord,
  CLOUDEVENTS_SPECVERSION,
  EVENT_DATACONTENTTYPE,
  OPTIONAL_EVENT_ATTRIBUTES,
  type PalisadeEvent,
  REQUIRED_EVENT_ATTRIBUTES,
  TRACEPARENT_PATTERN,
} from './envelope';
import { EventValidationError } from './event-validation.error';
import './events';
import { NAME_MAX } from './events/field-limits';
import { type EventDefinition, getEventDefinition, parseDataschema } from './events/registry';
import { isUuidV7 } from './ids';
import { isJsonValue } from './jcs';
import { isRfc3339Utc } from './rfc3339';
import { isServiceName, isSubjectToken } from './subjects';
import {
  flattenValidationErrors,
  forbiddenKeyIssues,
  HEX64_PATTERN,
  type ValidationIssue,
} from './validators';

type Issues = ValidationIssue[];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isBoundedString(value: unknown, max = NAME_MAX): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

/** Checks the CloudEvents attributes; returns the event's definition if its type is known. */
function checkEnvelope(
  event: Record<string, unknown>,
  extraAttributes: readonly string[],
  issues: Issues,
): EventDefinition | undefined {
  const allowed = new Set<string>([
    ...REQUIRED_EVENT_ATTRIBUTES,
    ...OPTIONAL_EVENT_ATTRIBUTES,
    ...extraAttributes,
  ]);
  for (const key of Object.keys(event)) {
    if (!allowed.has(key)) issues.push({ path: key, problem: 'unknown attribute' });
  }
  for (const key of REQUIRED_EVENT_ATTRIBUTES) {
    if (event[key] === undefined) issues.push({ path: key, problem: 'is required' });
  }
  const check = (key: string, ok: boolean, problem: string) => {
    if (event[key] !== undefined && !ok) issues.push({ path: key, problem });
  };

  check('specversion', event.specversion === CLOUDEVENTS_SPECVERSION, `must be "${CLOUDEVENTS_SPECVERSION}"`);
  check('id', isUuidV7(event.id), 'must be a lower-case UUIDv7');
  check(
    'source',
    typeof event.source === 'string' &&
      event.source.startsWith('palisade/') &&
      isServiceName(event.source.slice(9)),
    'must be palisade/<service name>',
  );
  check('subject', isSubjectToken(event.subject), 'must be the aggregate id, a subject-safe token');
  check('time', isRfc3339Utc(event.time), 'must be an RFC 3339 UTC timestamp');
  check(
    'datacontenttype',
    event.datacontenttype === EVENT_DATACONTENTTYPE,
    `must be "${EVENT_DATACONTENTTYPE}"`,
  );
  check('data', isPlainObject(event.data), 'must be a JSON object');
  check('correlationid', isUuidV7(event.correlationid), 'must be a lower-case UUIDv7');
  check('causationid', isUuidV7(event.causationid), 'must be a lower-case UUIDv7');
  check(
    'actortype',
    (ACTOR_TYPES as readonly unknown[]).includes(event.actortype),
    `must be one of ${ACTOR_TYPES.join(', ')}`,
  );
  check(
    'actorid',
    isBoundedString(event.actorid),
    `must be a non-empty string of at most ${NAME_MAX} characters`,
  );
  check(
    'trust',
    (TRUST_LEVELS as readonly unknown[]).includes(event.trust),
    `must be one of ${TRUST_LEVELS.join(', ')}`,
  );
  check(
    'traceparent',
    typeof event.traceparent === 'string' && TRACEPARENT_PATTERN.test(event.traceparent),
    'must be a W3C traceparent (00-<trace id>-<parent id>-<flags>)',
  );

  if (event.type === undefined) return undefined;
  if (typeof event.type !== 'string') {
    issues.push({ path: 'type', problem: 'must be a string' });
    return undefined;
  }
  const latest = getEventDefinition(event.type);
  if (!latest) {
    issues.push({ path: 'type', problem: `unknown event type ${JSON.stringify(event.type)}` });
    return undefined;
  }
  if (event.dataschema === undefined) return undefined;
  const schema = typeof event.dataschema === 'string' ? parseDataschema(event.dataschema) : undefined;
  if (!schema || schema.type !== event.type) {
    issues.push({ path: 'dataschema', problem: `must be palisade:${event.type}/v<N>` });
    return undefined;
  }
  const definition = getEventDefinition(event.type, schema.version);
  if (!definition) {
    issues.push({ path: 'dataschema', problem: `${event.type} has no registered version ${schema.version}` });
  }
  return definition;
}

/** Problems with `data` against a definition's payload class (paths start with `data`). */
export function validateEventData(definition: EventDefinition, data: unknown): ValidationIssue[] {
  if (!isPlainObject(data)) return [{ path: 'data', problem: 'must be a JSON object' }];
  const forbidden = forbiddenKeyIssues(data, 'data');
  if (forbidden.length > 0) return forbidden;
  const instance = plainToInstance(definition.payload, data) as object;
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  });
  return flattenValidationErrors(errors, 'data');
}

function finish<T>(value: Record<string, unknown>, issues: Issues): T {
  if (issues.length === 0 && !isJsonValue(value)) {
    issues.push({
      path: '$',
      problem: 'must contain only JSON values (no undefined, NaN, Infinity, Dates or class instances)',
    });
  }
  if (issues.length > 0) {
    throw new EventValidationError(issues, typeof value.type === 'string' ? value.type : undefined);
  }
  return value as T;
}

/**
 * Validates the envelope and the payload against the registered schema (whitelist,
 * forbidNonWhitelisted, nested). Returns the same object, typed; throws EventValidationError
 * listing every problem.
 */
export function validateEvent(event: unknown): PalisadeEvent {
  if (!isPlainObject(event))
    throw new EventValidationError([{ path: '$', problem: 'must be a JSON object' }]);
  const issues: Issues = [];
  const definition = checkEnvelope(event, [], issues);
  if (definition && isPlainObject(event.data)) issues.push(...validateEventData(definition, event.data));
  return finish<PalisadeEvent>(event, issues);
}

/**
 * Validates an audit record: the envelope, a registered type, and the ledgerseq / ledgerhash
 * extensions. The payload is not checked against its schema: content fields were replaced.
 */
export function validateAuditRecord(record: unknown): AuditRecord {
  if (!isPlainObject(record))
    throw new EventValidationError([{ path: '$', problem: 'must be a JSON object' }]);
  const issues: Issues = [];
  checkEnvelope(record, AUDIT_RECORD_EXTENSIONS, issues);
  if (typeof record.ledgerseq !== 'string' || !/^[1-9][0-9]*$/.test(record.ledgerseq)) {
    issues.push({ path: 'ledgerseq', problem: 'must be a positive decimal string' });
  }
  if (typeof record.ledgerhash !== 'string' || !HEX64_PATTERN.test(record.ledgerhash)) {
    issues.push({ path: 'ledgerhash', problem: 'must be 64 lower-case hex digits' });
  }
  return finish<AuditRecord>(record, issues);
}
