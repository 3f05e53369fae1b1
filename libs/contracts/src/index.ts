// @palisade/contracts — the single source of cross-service contracts (see docs/architecture.md).
// Importing it registers every built-in event type.
export * from './enums';
export * from './subjects';
export * from './ids';
export * from './rfc3339';
export * from './jcs';
export * from './validators';
export * from './envelope';
export * from './event-validation.error';
export * from './events';
export * from './create-event';
export * from './validate-event';
export * from './hash-chain';
export * from './secret-detectors';
export * from './secrets';
export * from './audit-record';
export * from './ed25519-keys';
export * from './checkpoint';
export * from './grant.error';
export * from './grant';
export * from './rpc';
export * from './session-ids';
export * from './agent-freeze';
export * from './commands';
export * from './egress-allowlist';
