import { Module } from '@nestjs/common';

/** Scheduled agent turns. */
@Module({})
export class CronModule {}
