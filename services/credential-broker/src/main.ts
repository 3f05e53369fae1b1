import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { CredentialBrokerConfig } from './credential-broker.config';
import { CredentialBrokerModule } from './credential-broker.module';
import { CredentialBrokerService } from './fetch/credential-broker.service';

runService({
  service: 'credential-broker',
  configClass: CredentialBrokerConfig,
  module: CredentialBrokerModule,
  healthChecks: (app) => () => app.get(CredentialBrokerService).health(),
});
