import { BaseServiceConfig } from '@palisade/config';

export class ApprovalsConfig extends BaseServiceConfig {}
