export * from './event-log.errors';
export * from './event-store';
export * from './decider';
export * from './projector';
export * from './database';
export * from './projection-checkpoint';
export * from './event-reactor';
