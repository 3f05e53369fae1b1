// channels.sender: the admission read model behind cmd.channels.senders.list. Decisions never read
// it (they fold the sender's own aggregate), so a lagging projection cannot admit anyone.
import type { EntityManager } from 'typeorm';
import type { PalisadeEvent, SenderLevel } from '@palisade/contracts';
import type { ProjectionHandler } from '@palisade/event-log';

const STATUS: Record<string, string> = {
  'channel.sender.pending': 'pending',
  'channel.sender.admitted': 'admitted',
  'channel.sender.rejected': 'rejected',
};

export class SenderProjection implements ProjectionHandler {
  readonly types = Object.keys(STATUS);

  async apply(event: PalisadeEvent, seq: number, tx: EntityManager): Promise<void> {
    const data = event.data as { channel: string; sender: string; senderName?: string; level?: SenderLevel };
    const status = STATUS[event.type];
    await tx.query(
      `INSERT INTO channels.sender (channel, sender, sender_name, status, level, last_seq, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (channel, sender) DO UPDATE SET
         sender_name = coalesce(EXCLUDED.sender_name, channels.sender.sender_name),
         status = EXCLUDED.status, level = EXCLUDED.level,
         last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at
       WHERE channels.sender.last_seq < EXCLUDED.last_seq`,
      [
        data.channel,
        data.sender,
        data.senderName ?? null,
        status,
        status === 'admitted' ? data.level : null,
        seq,
        event.time,
      ],
    );
  }

  async reset(tx: EntityManager): Promise<void> {
    await tx.query('DELETE FROM channels.sender');
  }
}
