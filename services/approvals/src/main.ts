import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { ApprovalsService } from './approval/approvals.service';
import { ApprovalsConfig } from './approvals.config';
import { ApprovalsModule } from './approvals.module';

runService({
  service: 'approvals',
  configClass: ApprovalsConfig,
  module: ApprovalsModule,
  healthChecks: (app) => () => app.get(ApprovalsService).health(),
});
