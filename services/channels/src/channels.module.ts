import { Module } from '@nestjs/common';

/** Nextcloud Talk (and other chat) adapters, the pending-sender queue and per-channel permissions. */
@Module({})
export class ChannelsModule {}
