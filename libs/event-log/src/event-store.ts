// Append to and read from the append-only EVENTS stream. One subject per aggregate, so the subject's
// last sequence is the aggregate's version (contracts: evt.<aggregate type>.<aggregate id>).
import { jetstream, JetStreamClient } from '@nats-io/jetstream';
import { headers, NatsConnection } from '@nats-io/transport-node';
import {
  AggregateType,
  EVENTS_STREAM,
  eventSubject,
  getEventDefinition,
  PalisadeEvent,
  validateEvent,
} from '@palisade/contracts';
import { ConcurrencyError, EventLogError, EventLogErrorCode } from './event-log.errors';

/** `none`: the aggregate must not exist yet; a number: its current version (last subject sequence). */
export type ExpectedVersion = 'any' | 'none' | number;

export interface StoredEvent<T = unknown> {
  seq: number;
  subject: string;
  event: PalisadeEvent<T>;
  /** The exact bytes stored, for hash-chain and cross-checks. */
  raw: string;
}

export interface AppendResult {
  seq: number;
  duplicate: boolean;
  subject: string;
}

interface MsgGetReply {
  message?: { subject: string; seq: number; data?: string; time: string };
  error?: { code: number; err_code?: number; description?: string };
}

const RETRYABLE = /timeout|no responders|disconnect|closed|503/i;

export class EventStore {
  private readonly js: JetStreamClient;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { stream?: string; retries?: number; timeoutMs?: number } = {},
  ) {
    this.js = jetstream(nc, { timeout: options.timeoutMs ?? 5_000 });
  }

  private get stream(): string {
    return this.options.stream ?? EVENTS_STREAM;
  }

  subjectOf(event: Pick<PalisadeEvent, 'type' | 'subject'>): string {
    const definition = getEventDefinition(event.type);
    if (!definition) throw new EventLogError(EventLogErrorCode.Rejected, `unknown event type ${event.type}`);
    return eventSubject(definition.aggregateType, event.subject);
  }

  /**
   * Appends one event. Invalid events throw before anything is sent. The message id is the event id,
   * so a retried append after a lost acknowledgement is stored once (JetStream de-duplication); that is
   * the only thing retried here. A version conflict is never retried: the caller must re-decide.
   */
  async append(event: PalisadeEvent, expected: ExpectedVersion = 'any'): Promise<AppendResult> {
    validateEvent(event);
    const subject = this.subjectOf(event);
    const body = JSON.stringify(event);
    const attempts = 1 + (this.options.retries ?? 3);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const hdrs = headers();
      if (event.traceparent) hdrs.set('traceparent', event.traceparent);
      try {
        const ack = await this.js.publish(subject, body, {
          msgID: event.id,
          headers: hdrs,
          expect: expected === 'any' ? undefined : { lastSubjectSequence: expected === 'none' ? 0 : expected },
        });
        return { seq: ack.seq, duplicate: ack.duplicate, subject };
      } catch (error) {
        const text = `${(error as Error).message} ${(error as { cause?: Error }).cause?.message ?? ''}`;
        if (/wrong last sequence/i.test(text)) throw new ConcurrencyError(subject, expected === 'none' ? 0 : Number(expected));
        if (/permissions violation/i.test(text)) {
          throw new EventLogError(EventLogErrorCode.Rejected, `not permitted to append to ${subject}`, { subject });
        }
        lastError = error;
        if (!RETRYABLE.test(text) || attempt === attempts) break;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
    const text = (lastError as Error)?.message ?? String(lastError);
    throw new EventLogError(
      RETRYABLE.test(text) ? EventLogErrorCode.Unavailable : EventLogErrorCode.Rejected,
      `append to ${subject} failed: ${text}`,
      { subject },
    );
  }

  /** One stored message by stream sequence, or undefined past the end. */
  async getBySeq(seq: number): Promise<StoredEvent | undefined> {
    return this.msgGet({ seq });
  }

  /** The next message at or after `seq` on `subject` (wildcards allowed), or undefined. */
  async nextOnSubject(subject: string, seq: number): Promise<StoredEvent | undefined> {
    return this.msgGet({ seq, next_by_subj: subject });
  }

  /** All events of one aggregate in order (its version is the last one's subject position). */
  async readAggregate(aggregateType: AggregateType, id: string): Promise<StoredEvent[]> {
    const subject = eventSubject(aggregateType, id);
    const out: StoredEvent[] = [];
    let seq = 1;
    for (;;) {
      const next = await this.nextOnSubject(subject, seq);
      if (!next) return out;
      out.push(next);
      seq = next.seq + 1;
    }
  }

  async lastSeq(): Promise<number> {
    const reply = await this.nc.request(`$JS.API.STREAM.INFO.${this.stream}`, '', { timeout: this.options.timeoutMs ?? 5_000 });
    const info = reply.json<{ state?: { last_seq: number }; error?: { description: string } }>();
    if (!info.state) throw new EventLogError(EventLogErrorCode.Unavailable, `stream info failed: ${info.error?.description}`);
    return info.state.last_seq;
  }

  private async msgGet(request: { seq: number; next_by_subj?: string }): Promise<StoredEvent | undefined> {
    const reply = await this.nc.request(`$JS.API.STREAM.MSG.GET.${this.stream}`, JSON.stringify(request), {
      timeout: this.options.timeoutMs ?? 5_000,
    });
    const body = reply.json<MsgGetReply>();
    if (body.error) {
      if (body.error.code === 404) return undefined;
      throw new EventLogError(EventLogErrorCode.Unavailable, `reading ${this.stream} failed: ${body.error.description}`);
    }
    const message = body.message!;
    const raw = Buffer.from(message.data ?? '', 'base64').toString('utf8');
    return { seq: message.seq, subject: message.subject, raw, event: parseStoredEvent(raw, message.seq) };
  }
}

/** Parses and validates a stored event; a bad one is never skipped silently — it names its sequence. */
export function parseStoredEvent(raw: string, seq: number): PalisadeEvent {
  let event: PalisadeEvent;
  try {
    event = JSON.parse(raw);
  } catch {
    throw new EventLogError(EventLogErrorCode.Corrupt, `event at stream sequence ${seq} is not JSON`, { seq });
  }
  try {
    validateEvent(event);
  } catch (error) {
    throw new EventLogError(EventLogErrorCode.Corrupt, `event at stream sequence ${seq} is invalid: ${(error as Error).message}`, { seq });
  }
  return event;
}
