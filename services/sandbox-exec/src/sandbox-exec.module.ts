import { Module } from '@nestjs/common';

/** Runs granted commands in hardened Docker containers. */
@Module({})
export class SandboxExecModule {}
