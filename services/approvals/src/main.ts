import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { ApprovalsConfig } from './approvals.config';
import { ApprovalsModule } from './approvals.module';

runService({ service: 'approvals', configClass: ApprovalsConfig, module: ApprovalsModule });
