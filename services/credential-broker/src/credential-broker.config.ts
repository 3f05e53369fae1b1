import { BaseServiceConfig } from '@palisade/config';

export class CredentialBrokerConfig extends BaseServiceConfig {}
