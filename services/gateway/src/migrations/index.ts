import { projectionCheckpointMigration } from '@palisade/event-log';
import { CreateGatewayAuth1795300000101 } from './1795300000101-create-gateway-auth';

// Read models of the gateway service, in schema "gateway". Applied by `palisade infra setup` as palisade_owner;
// the service's own role has DML rights only. Append new migrations at the end.
export const GATEWAY_SCHEMA = 'gateway';
export const GATEWAY_MIGRATIONS = [
  projectionCheckpointMigration(GATEWAY_SCHEMA),
  CreateGatewayAuth1795300000101,
];
