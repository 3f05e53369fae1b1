// The one way producers build events: fills id, time and dataschema, defaults the correlation id,
// copies the payload into plain JSON, and validates the result so a bad event fails at its source.
import type { ActorType, Trust } from './enums';
import type { PalisadeEvent } from './envelope';
import { EventValidationError } from './event-validation.error';
import { dataschemaOf, type EventPayloads, getEventDefinition } from './events/registry';
import { uuidv7 } from './ids';
import { JcsError, toJsonObject } from './jcs';
import { type AggregateType, eventSubject, type ServiceName } from './subjects';
import { validateEvent } from './validate-event';

export type EventPayloadOf<K extends string> = K extends keyof EventPayloads
  ? EventPayloads[K]
  : Record<string, unknown>;

export interface EventActor {
  type: ActorType;
  /** User id, API key id, service name, channel sender id or `system`. */
  id: string;
}

export interface CreateEventInput<K extends string> {
  type: K;
  /** The producing service; becomes `source` = `palisade/<service>`. */
  source: ServiceName;
  /** The aggregate id (envelope `subject`); a subject-safe token, normally a UUIDv7. */
  aggregateId: string;
  data: EventPayloadOf<K>;
  /** Defaults to the new event's own id (it starts a causal chain). */
  correlationId?: string;
  causationId?: string;
  actor: EventActor;
  trust: Trust;
  traceparent?: string;
  /** For replays and deterministic tests only; normally left to createEvent. */
  id?: string;
  /** For deterministic tests only; defaults to now. */
  time?: Date;
}

/** A validated, plain-JSON event ready to append. Throws EventValidationError if it is not. */
export function createEvent<K extends string>(
  input: CreateEventInput<K>,
): PalisadeEvent<EventPayloadOf<K>> & { type: K } {
  const definition = getEventDefinition(input.type);
  if (!definition) {
    throw new EventValidationError(
      [{ path: 'type', problem: `unknown event type ${JSON.stringify(input.type)}` }],
      input.type,
    );
  }
  const id = input.id ?? uuidv7();
  const event = toPlainJson(
    {
      specversion: '1.0',
      id,
      source: `palisade/${input.source}`,
      type: input.type,
      subject: input.aggregateId,
      time: (input.time ?? new Date()).toISOString(),
      datacontenttype: 'application/json',
      dataschema: dataschemaOf(definition),
      data: input.data,
      correlationid: input.correlationId ?? id,
      causationid: input.causationId,
      actortype: input.actor?.type,
      actorid: input.actor?.id,
      trust: input.trust,
      traceparent: input.traceparent,
    },
    input.type,
  );
  validateEvent(event);
  return event as PalisadeEvent<EventPayloadOf<K>> & { type: K };
}

function toPlainJson<T>(value: T, type: string): T {
  try {
    return toJsonObject(value);
  } catch (error) {
    if (error instanceof JcsError)
      throw new EventValidationError([{ path: '$', problem: error.message }], type);
    throw error;
  }
}

/** The aggregate type an event type is published under. */
export function aggregateTypeOf(type: string): AggregateType {
  const definition = getEventDefinition(type);
  if (!definition)
    throw new EventValidationError(
      [{ path: 'type', problem: `unknown event type ${JSON.stringify(type)}` }],
      type,
    );
  return definition.aggregateType;
}

/** `evt.<aggregate type>.<subject>` — where an event is appended in EVENTS. */
export function subjectOfEvent(event: Pick<PalisadeEvent<unknown>, 'type' | 'subject'>): string {
  return eventSubject(aggregateTypeOf(event.type), event.subject);
}
