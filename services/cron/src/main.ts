import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { CronConfig } from './cron.config';
import { CronModule } from './cron.module';
import { CronService } from './cron.service';

runService({
  service: 'cron',
  configClass: CronConfig,
  module: CronModule,
  healthChecks: (app) => () => app.get(CronService).health(),
});
