import { projectionCheckpointMigration } from '@palisade/event-log';
import { CreateChannels1795300000101 } from './1795300000101-create-channels';

// Read models of the channels service, in schema "channels". Applied by `palisade infra setup` as palisade_owner;
// the service's own role has DML rights only. Append new migrations at the end.
export const CHANNELS_SCHEMA = 'channels';
export const CHANNELS_MIGRATIONS = [
  projectionCheckpointMigration(CHANNELS_SCHEMA),
  CreateChannels1795300000101,
];
