import { Module } from '@nestjs/common';

/** Fetches secrets from Nextcloud Passwords at the moment of use; keeps nothing. */
@Module({})
export class CredentialBrokerModule {}
