import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { GatewayConfig } from './gateway.config';
import { GatewayModule } from './gateway.module';
import { gatewayListen } from './http/gateway-tls';

runService({
  service: 'gateway',
  configClass: GatewayConfig,
  module: GatewayModule,
  // HTTPS by default (local CA or the operator's certificate); plain HTTP only on loopback when asked.
  http: (config) => gatewayListen(config),
});
