// Projects the replies channels must deliver into channels.outbox, in the same transaction as the
// projector's checkpoint: each reply is inserted once (keyed by event id) whatever the replays,
// restarts or replicas. Delivery itself happens after commit (ReplyDelivery).
import type { EntityManager } from 'typeorm';
import type { PalisadeEvent } from '@palisade/contracts';
import type { ProjectionHandler } from '@palisade/event-log';

export const WAITING_REPLY =
  'Hello! I do not know you yet: your message is waiting for an operator to admit you. ' +
  'Until then, nothing you write reaches the agent.';

export class OutboxProjection implements ProjectionHandler {
  readonly types = ['chat.message.sent', 'channel.sender.pending'] as const;

  constructor(
    private readonly isOurs: (channel: string) => boolean,
    private readonly maxAgeMs: number,
  ) {}

  async apply(event: PalisadeEvent, seq: number, tx: EntityManager): Promise<void> {
    const data = event.data as { channel?: string; conversation?: string; text?: string; inReplyTo?: string };
    if (!data.channel || !data.conversation || !this.isOurs(data.channel)) return;
    // A backlog from long ago (a rebuild, a long outage) is not delivered any more.
    if (Date.now() - Date.parse(event.time) > this.maxAgeMs) return;
    const text = event.type === 'channel.sender.pending' ? WAITING_REPLY : (data.text ?? '');
    const inReplyTo = event.type === 'chat.message.sent' ? (data.inReplyTo ?? null) : null;
    await tx.query(
      `INSERT INTO channels.outbox (event_id, seq, channel, conversation, text, in_reply_to, correlation_id, event_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [
        event.id,
        seq,
        data.channel,
        data.conversation,
        text,
        inReplyTo,
        event.correlationid ?? event.id,
        event.time,
      ],
    );
  }

  /** A rebuild keeps the delivery history: what was delivered must never be delivered again. */
  async reset(): Promise<void> {}
}
