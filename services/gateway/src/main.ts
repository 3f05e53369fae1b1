import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { GatewayConfig } from './gateway.config';
import { GatewayModule } from './gateway.module';

runService({
  service: 'gateway',
  configClass: GatewayConfig,
  module: GatewayModule,
  http: (config) => ({ port: config.PALISADE_GATEWAY_PORT, host: config.PALISADE_GATEWAY_HOST }),
});
