import { BaseServiceConfig } from '@palisade/config';

export class SandboxExecConfig extends BaseServiceConfig {}
