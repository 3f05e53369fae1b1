import 'reflect-metadata';
import { runService } from '@palisade/nats';
import { LedgerConfig } from './ledger.config';
import { LedgerModule } from './ledger.module';

runService({ service: 'ledger', configClass: LedgerConfig, module: LedgerModule });
