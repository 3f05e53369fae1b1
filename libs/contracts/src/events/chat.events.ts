// Conversation events on the session aggregate (`evt.session.<session id>`). The session id is a
// UUIDv7; the human session key `<channel>:<conversation>:<sender>` lives in the payload.
import { IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { SENDER_LEVELS, type SenderLevel } from '../enums';
import { Optional } from '../validators';
import { CONTENT_MAX, NAME_MAX } from './field-limits';
import { registerEvent } from './registry';

export class ChatMessageReceivedData {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation: string;
  /** The channel's own sender id (e.g. a Nextcloud user id; may contain dots or spaces). */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) sender: string;
  @Optional() @IsString() @MaxLength(NAME_MAX) senderName?: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) messageId: string;
  /** Content: never leaves EVENTS; the audit feed carries only its digest and length. */
  @IsString() @MaxLength(CONTENT_MAX) text: string;
  /** The sender's admission level when the message arrived. */
  @IsIn(SENDER_LEVELS) level: SenderLevel;
}

export class ChatMessageSentData {
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel?: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation?: string;
  /** Content. */
  @IsString() @MaxLength(CONTENT_MAX) text: string;
  /** messageId of the message answered. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) inReplyTo?: string;
}

declare module './registry' {
  interface EventPayloads {
    'chat.message.received': ChatMessageReceivedData;
    'chat.message.sent': ChatMessageSentData;
  }
}

registerEvent({
  type: 'chat.message.received',
  version: 1,
  aggregateType: 'session',
  payload: ChatMessageReceivedData,
  contentFields: ['text'],
  description: 'A message reached the agent from a channel conversation or the gateway.',
});

registerEvent({
  type: 'chat.message.sent',
  version: 1,
  aggregateType: 'session',
  payload: ChatMessageSentData,
  contentFields: ['text'],
  description: 'The agent replied in a session.',
});
