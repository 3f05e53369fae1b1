// Admission state of one channel sender, folded from its aggregate evt.sender.<senderIdOf(channel, sender)>.
import type { PalisadeEvent, SenderLevel, SenderStatus } from '@palisade/contracts';

export interface SenderState {
  status: SenderStatus | 'unknown';
  level?: SenderLevel;
  senderName?: string;
  /** Aggregate version (number of events); 0 when the sender was never seen. */
  version: number;
}

export const UNKNOWN_SENDER: SenderState = { status: 'unknown', version: 0 };

export function evolveSender(state: SenderState, event: PalisadeEvent): SenderState {
  const data = event.data as { level?: SenderLevel; senderName?: string };
  const senderName = data.senderName ?? state.senderName;
  switch (event.type) {
    case 'channel.sender.pending':
      return { status: 'pending', senderName, version: state.version + 1 };
    case 'channel.sender.admitted':
      return { status: 'admitted', level: data.level, senderName, version: state.version + 1 };
    case 'channel.sender.rejected':
      return { status: 'rejected', senderName, version: state.version + 1 };
    default:
      return { ...state, version: state.version + 1 };
  }
}

export const foldSender = (events: PalisadeEvent[]): SenderState =>
  events.reduce(evolveSender, UNKNOWN_SENDER);
