import { Module } from '@nestjs/common';
import { SERVICE_CONFIG } from '@palisade/nats';
import type { CredentialBrokerConfig } from './credential-broker.config';
import { CredentialBrokerController } from './fetch/credential-broker.controller';
import { CredentialBrokerService } from './fetch/credential-broker.service';
import { PasswordsRepository } from './passwords/passwords.repository';
import { loadPasswordsSettings, PASSWORDS_SETTINGS } from './passwords/passwords.settings';

/** Fetches secrets from Nextcloud Passwords at the moment of use; keeps nothing. */
@Module({
  controllers: [CredentialBrokerController],
  providers: [
    CredentialBrokerService,
    PasswordsRepository,
    {
      provide: PASSWORDS_SETTINGS,
      inject: [SERVICE_CONFIG],
      useFactory: (config: CredentialBrokerConfig) => loadPasswordsSettings(config),
    },
  ],
})
export class CredentialBrokerModule {}
