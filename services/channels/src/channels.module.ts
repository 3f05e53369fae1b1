import { Module } from '@nestjs/common';
import { ChannelsService } from './channels.service';
import { SendersController } from './senders/senders.controller';
import { TalkWebhookController } from './webhook/talk-webhook.controller';

/** Nextcloud Talk (and other chat) adapters, the pending-sender queue and per-channel permissions. */
@Module({ controllers: [TalkWebhookController, SendersController], providers: [ChannelsService] })
export class ChannelsModule {}
