import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { SandboxExecConfig } from './sandbox-exec.config';
import { SandboxExecModule } from './sandbox-exec.module';

runService({ service: 'sandbox-exec', configClass: SandboxExecConfig, module: SandboxExecModule });
