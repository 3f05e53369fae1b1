import { projectionCheckpointMigration } from '@palisade/event-log';
import { CreateApprovals1795300000101 } from './1795300000101-create-approvals';

// Read models of the approvals service, in schema "approvals". Applied by `palisade infra setup` as palisade_owner;
// the service's own role has DML rights only. Append new migrations at the end.
export const APPROVALS_SCHEMA = 'approvals';
export const APPROVALS_MIGRATIONS = [
  projectionCheckpointMigration(APPROVALS_SCHEMA),
  CreateApprovals1795300000101,
];
