import { Module } from '@nestjs/common';
import { CronController } from './cron.controller';
import { CronService } from './cron.service';

/** Scheduled agent turns: jobs, their rate limit, and firing them exactly once per due time. */
@Module({ controllers: [CronController], providers: [CronService] })
export class CronModule {}
