import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { ChannelsConfig } from './channels.config';
import { ChannelsModule } from './channels.module';
import { ChannelsService } from './channels.service';

runService({
  service: 'channels',
  configClass: ChannelsConfig,
  module: ChannelsModule,
  // No global body parser: webhook signatures are verified over the raw bytes, read with a size limit.
  http: (config) => ({
    port: config.PALISADE_CHANNELS_PORT,
    host: config.PALISADE_CHANNELS_HOST,
    bodyParser: false,
  }),
  healthChecks: (app) => () => app.get(ChannelsService).health(),
});
