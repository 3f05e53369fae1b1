import { projectionCheckpointMigration } from '@palisade/event-log';
import { CreateCronJobs1795300000031 } from './1795300000031-create-cron-jobs';

// Read models of the cron service, in schema "cron". Applied by `palisade infra setup` as palisade_owner;
// the service's own role has DML rights only. Append new migrations at the end.
export const CRON_SCHEMA = 'cron';
export const CRON_MIGRATIONS = [projectionCheckpointMigration(CRON_SCHEMA), CreateCronJobs1795300000031];
