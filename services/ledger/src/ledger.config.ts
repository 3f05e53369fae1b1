import { BaseServiceConfig } from '@palisade/config';

export class LedgerConfig extends BaseServiceConfig {}
