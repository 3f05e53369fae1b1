import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { ChannelsConfig } from './channels.config';
import { ChannelsModule } from './channels.module';

runService({
  service: 'channels',
  configClass: ChannelsConfig,
  module: ChannelsModule,
  http: (config) => ({ port: config.PALISADE_CHANNELS_PORT, host: config.PALISADE_CHANNELS_HOST }),
});
