import type { ActorType, SenderLevel } from '../enums';

/** Operator management of channel senders (called by the gateway's API). */
export const CHANNELS_SENDERS_LIST = 'cmd.channels.senders.list';
export const CHANNELS_SENDERS_ADMIT = 'cmd.channels.senders.admit';
export const CHANNELS_SENDERS_REJECT = 'cmd.channels.senders.reject';

export type SenderStatus = 'pending' | 'admitted' | 'rejected';

export interface SenderView {
  channel: string;
  sender: string;
  senderName?: string;
  status: SenderStatus;
  level?: SenderLevel;
}

export interface ChannelsSendersListRequest {
  channel?: string;
  status?: SenderStatus;
}

export interface OperatorActor {
  type: Extract<ActorType, 'user' | 'apikey'>;
  id: string;
}

export interface ChannelsSenderAdmitRequest {
  channel: string;
  sender: string;
  level: SenderLevel;
  actor: OperatorActor;
}

export interface ChannelsSenderRejectRequest {
  channel: string;
  sender: string;
  actor: OperatorActor;
}

/** Replies: list → SenderView[]; admit / reject → the sender's new SenderView. */
export type ChannelsSendersListReply = SenderView[];
export type ChannelsSenderChangeReply = SenderView;
