// Importing this module registers every built-in event type.
export * from './registry';
export * from './field-limits';
export * from './chat.events';
export * from './agent.events';
export * from './approval.events';
export * from './grant.events';
export * from './exec.events';
export * from './credential.events';
export * from './channel.events';
export * from './cron.events';
export * from './auth.events';
export * from './ledger.events';
export * from './tool.events';
