import { BaseServiceConfig } from '@palisade/config';

export class CronConfig extends BaseServiceConfig {}
