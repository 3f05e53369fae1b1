import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { CronConfig } from './cron.config';
import { CronModule } from './cron.module';

runService({ service: 'cron', configClass: CronConfig, module: CronModule });
