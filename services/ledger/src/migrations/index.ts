import { CreateLedger1795300000001 } from './1795300000001-create-ledger';

export const LEDGER_SCHEMA = 'ledger';
export const LEDGER_MIGRATIONS = [CreateLedger1795300000001];
