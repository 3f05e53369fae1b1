// The event registry: every event type with its version, aggregate type, payload schema and the
// paths of its free-text content. Domain files register their types at import; later work adds
// types in its own file with registerEvent() and a `declare module` block (see chat.events.ts).
import { AGGREGATE_TYPES, type AggregateType, EVENT_TYPE_PATTERN } from '../subjects';

/**
 * Type name → payload type, filled by declaration merging in each domain file, so that
 * createEvent({ type: 'chat.message.received', data }) checks `data` at compile time.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventPayloads {}
export type RegisteredEventType = keyof EventPayloads & string;

export interface EventDefinition<T extends object = object> {
  /** Dotted past-tense name, e.g. `exec.approval.requested`. */
  readonly type: string;
  /** Schema version, the N in `dataschema` `palisade:<type>/v<N>`. */
  readonly version: number;
  /** Aggregate whose subject `evt.<aggregateType>.<id>` carries the event. */
  readonly aggregateType: AggregateType;
  /** class-validator class describing `data`. */
  readonly payload: new () => T;
  /**
   * Paths in `data` of free-text content (chat text, command output, prompts). The audit feed
   * replaces each with its SHA-256 and length. `*` matches every array element or object value.
   */
  readonly contentFields: readonly string[];
  readonly description: string;
}

const CONTENT_PATH_PATTERN = /^(?:[A-Za-z_][A-Za-z0-9_]*)(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\*))*$/;

const registry = new Map<string, Map<number, EventDefinition>>();

export class EventRegistryError extends Error {
  override readonly name = 'EventRegistryError';
}

/** Adds one version of one event type. Registering the same type and version twice is an error. */
export function registerEvent<T extends object>(definition: EventDefinition<T>): EventDefinition<T> {
  const { type, version, aggregateType, payload, contentFields } = definition;
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) {
    throw new EventRegistryError(`event type ${JSON.stringify(type)} is not dotted lower-case words`);
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new EventRegistryError(`${type}: version must be a positive integer`);
  }
  if (!(AGGREGATE_TYPES as readonly string[]).includes(aggregateType)) {
    throw new EventRegistryError(`${type}: unknown aggregate type ${JSON.stringify(aggregateType)}`);
  }
  if (typeof payload !== 'function') throw new EventRegistryError(`${type}: payload must be a class`);
  for (const path of contentFields) {
    if (!CONTENT_PATH_PATTERN.test(path))
      throw new EventRegistryError(`${type}: bad content field path ${path}`);
  }
  const versions = registry.get(type) ?? new Map<number, EventDefinition>();
  if (versions.has(version)) throw new EventRegistryError(`${type} v${version} is already registered`);
  for (const other of versions.values()) {
    // One subject scheme per type: consumers filter on it across versions.
    if (other.aggregateType !== aggregateType) {
      throw new EventRegistryError(`${type}: all versions must share aggregate type ${other.aggregateType}`);
    }
  }
  const frozen = Object.freeze({ ...definition, contentFields: Object.freeze([...contentFields]) });
  versions.set(version, frozen as EventDefinition);
  registry.set(type, versions);
  return frozen;
}

/**
 * The definition of `type` at `version` (default: the newest version), or undefined if unknown.
 * Old versions stay registered so that events already in the log keep validating on replay.
 */
export function getEventDefinition(type: string, version?: number): EventDefinition | undefined {
  const versions = registry.get(type);
  if (!versions) return undefined;
  if (version !== undefined) return versions.get(version);
  return versions.get(Math.max(...versions.keys()));
}

/** Every registered event type name, sorted. */
export function listEventTypes(): string[] {
  return [...registry.keys()].sort();
}

/** Every registered definition (all versions), sorted by type then version. */
export function listEventDefinitions(): EventDefinition[] {
  return listEventTypes().flatMap((type) =>
    [...registry.get(type)!.values()].sort((a, b) => a.version - b.version),
  );
}

/** `palisade:<type>/v<N>` — the envelope's `dataschema` for a definition. */
export function dataschemaOf(definition: Pick<EventDefinition, 'type' | 'version'>): string {
  return `palisade:${definition.type}/v${definition.version}`;
}

/** Inverse of dataschemaOf; undefined if `dataschema` is not of that form. */
export function parseDataschema(dataschema: string): { type: string; version: number } | undefined {
  const m = /^palisade:([a-z][a-z0-9_.]*)\/v([1-9][0-9]{0,5})$/.exec(dataschema);
  return m ? { type: m[1], version: Number(m[2]) } : undefined;
}
