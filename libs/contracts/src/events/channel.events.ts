// Channel admission (sender aggregate: one per channel sender) and channel-level failures
// (channel aggregate: one per configured integration instance, e.g. `talk-main`).
import { IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { SENDER_LEVELS, type SenderLevel } from '../enums';
import { Optional } from '../validators';
import { NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

export class ChannelSenderData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) sender: string;
  @Optional() @IsString() @MaxLength(NAME_MAX) senderName?: string;
  @Optional() @IsIn(SENDER_LEVELS) level?: SenderLevel;
  /** pending: the conversation the sender first wrote in (where the one "waiting" notice goes). */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation?: string;
}

/** Admission always says at which level. */
export class ChannelSenderAdmittedData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) sender: string;
  @Optional() @IsString() @MaxLength(NAME_MAX) senderName?: string;
  @IsIn(SENDER_LEVELS) level: SenderLevel;
}

export class ChannelWebhookRejectedData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
  /** Remote address as seen by the gateway. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) remote?: string;
}

export class ChannelReplyFailedData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation: string;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) inReplyTo?: string;
}

/** Someone without the right to decide typed `approve <id>` / `deny <id>` in a conversation. */
export class ChannelApprovalIgnoredData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) sender: string;
  /** The approval id as typed (may not even exist). */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) approval: string;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

declare module './registry' {
  interface EventPayloads {
    'channel.sender.pending': ChannelSenderData;
    'channel.sender.admitted': ChannelSenderAdmittedData;
    'channel.sender.rejected': ChannelSenderData;
    'channel.webhook.rejected': ChannelWebhookRejectedData;
    'channel.reply.failed': ChannelReplyFailedData;
    'channel.approval.ignored': ChannelApprovalIgnoredData;
  }
}

registerEvent({
  type: 'channel.sender.pending',
  version: 1,
  aggregateType: 'sender',
  payload: ChannelSenderData,
  contentFields: [],
  description: 'An unknown sender wrote and waits in the pending queue.',
});
registerEvent({
  type: 'channel.sender.admitted',
  version: 1,
  aggregateType: 'sender',
  payload: ChannelSenderAdmittedData,
  contentFields: [],
  description: 'An operator admitted a sender at a level (read-only, execute, admin).',
});
registerEvent({
  type: 'channel.sender.rejected',
  version: 1,
  aggregateType: 'sender',
  payload: ChannelSenderData,
  contentFields: [],
  description: 'An operator rejected or removed a sender.',
});
registerEvent({
  type: 'channel.webhook.rejected',
  version: 1,
  aggregateType: 'channel',
  payload: ChannelWebhookRejectedData,
  contentFields: [],
  description: 'An inbound webhook failed authentication or validation.',
});
registerEvent({
  type: 'channel.reply.failed',
  version: 1,
  aggregateType: 'channel',
  payload: ChannelReplyFailedData,
  contentFields: [],
  description: 'A reply could not be delivered to the channel.',
});
registerEvent({
  type: 'channel.approval.ignored',
  version: 1,
  aggregateType: 'channel',
  payload: ChannelApprovalIgnoredData,
  contentFields: [],
  description: 'An approve/deny typed by a sender without admin rights in that channel was ignored.',
});
