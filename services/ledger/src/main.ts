import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { LedgerConfig } from './ledger.config';
import { LedgerModule } from './ledger.module';
import { LedgerService } from './ledger.service';

runService({
  service: 'ledger',
  configClass: LedgerConfig,
  module: LedgerModule,
  healthChecks: (app) => () => app.get(LedgerService).health(),
});
