import { Module } from '@nestjs/common';
import { SandboxExecController } from './sandbox-exec.controller';
import { SandboxExecService } from './sandbox-exec.service';

/** Runs granted commands in hardened Docker containers. */
@Module({ controllers: [SandboxExecController], providers: [SandboxExecService] })
export class SandboxExecModule {}
