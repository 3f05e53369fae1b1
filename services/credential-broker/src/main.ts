import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { CredentialBrokerConfig } from './credential-broker.config';
import { CredentialBrokerModule } from './credential-broker.module';

runService({ service: 'credential-broker', configClass: CredentialBrokerConfig, module: CredentialBrokerModule });
