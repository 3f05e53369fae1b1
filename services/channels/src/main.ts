import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { channelsListen } from './channels-tls';
import { ChannelsConfig } from './channels.config';
import { ChannelsModule } from './channels.module';
import { ChannelsService } from './channels.service';

runService({
  service: 'channels',
  configClass: ChannelsConfig,
  module: ChannelsModule,
  // No global body parser: webhook signatures are verified over the raw bytes, read with a size limit.
  // HTTPS with PALISADE_CHANNELS_TLS_CERT_FILE/KEY_FILE; plain HTTP only on loopback (or declared).
  http: (config) => channelsListen(config),
  healthChecks: (app) => () => app.get(ChannelsService).health(),
});
