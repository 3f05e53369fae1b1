// The CloudEvents 1.0 envelope (structured JSON) every domain event travels in, and the audit
// record the SOC receives. Extensions are flat strings, as CloudEvents requires.
import type { ActorType, Trust } from './enums';
import type { ServiceName } from './subjects';

export const CLOUDEVENTS_SPECVERSION = '1.0';
export const EVENT_DATACONTENTTYPE = 'application/json';

export type EventSource = `palisade/${ServiceName}`;

/** `T` defaults to unknown so that any typed event (e.g. from createEvent) is a PalisadeEvent. */
export interface PalisadeEvent<T = unknown> {
  specversion: '1.0';
  /** UUIDv7, also used as the JetStream Nats-Msg-Id for idempotent appends. */
  id: string;
  source: EventSource;
  type: string;
  /** The aggregate id: the last token of `evt.<aggregate type>.<aggregate id>`. */
  subject: string;
  /** RFC 3339 UTC. */
  time: string;
  datacontenttype: 'application/json';
  /** `palisade:<type>/v<N>`. */
  dataschema: string;
  data: T;
  /** Id of the first event of the causal chain (defaults to the event's own id). */
  correlationid: string;
  /** Id of the event or command that directly caused this one. */
  causationid?: string;
  actortype: ActorType;
  actorid: string;
  trust: Trust;
  /** W3C trace context of the producing span. */
  traceparent?: string;
}

/**
 * What the SOC feed carries: the envelope as appended, plus the ledger position. `data` has content
 * fields replaced by {sha256, length} and detected secrets replaced by digests (toAuditRecord).
 */
export interface AuditRecord<T = Record<string, unknown>> extends PalisadeEvent<T> {
  /** Decimal ledger sequence number. */
  ledgerseq: string;
  /** Chain hash of the ledger row (64 hex). */
  ledgerhash: string;
}

/** The envelope attributes, in the order they are checked. */
export const REQUIRED_EVENT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'correlationid',
  'actortype',
  'actorid',
  'trust',
] as const;
export const OPTIONAL_EVENT_ATTRIBUTES = ['causationid', 'traceparent'] as const;
export const AUDIT_RECORD_EXTENSIONS = ['ledgerseq', 'ledgerhash'] as const;

/** W3C traceparent, version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
export const TRACEPARENT_PATTERN = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
