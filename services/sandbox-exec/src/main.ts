import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { SandboxExecConfig } from './sandbox-exec.config';
import { SandboxExecModule } from './sandbox-exec.module';
import { SandboxExecService } from './sandbox-exec.service';

runService({
  service: 'sandbox-exec',
  configClass: SandboxExecConfig,
  module: SandboxExecModule,
  healthChecks: (app) => () => app.get(SandboxExecService).health(),
});
