// Request and reply shapes of the commands between services (`cmd.<service token>.<verb>`, core
// NATS request/reply with the `{ok, data} | {ok: false, error}` envelope from ../rpc). Each service
// validates its requests at its own edge with class-validator DTOs; these types are the contract the
// callers compile against. docs/commands.md explains the flows they make up.
export * from './llm.commands';
export * from './broker.commands';
export * from './approvals.commands';
export * from './sandbox.commands';
export * from './channels.commands';
export * from './cron.commands';
