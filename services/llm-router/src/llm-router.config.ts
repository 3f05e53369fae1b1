import { BaseServiceConfig } from '@palisade/config';

export class LlmRouterConfig extends BaseServiceConfig {}
