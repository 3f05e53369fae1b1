import { projectionCheckpointMigration } from '@palisade/event-log';

// Read models of the cron service, in schema "cron". Applied by `palisade infra setup` as palisade_owner;
// the service's own role has DML rights only. Append new migrations at the end.
export const CRON_SCHEMA = 'cron';
export const CRON_MIGRATIONS = [projectionCheckpointMigration(CRON_SCHEMA)];
