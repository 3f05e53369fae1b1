export * from './permissions.manifest';
export * from './nats-config.renderer';
export * from './nats.connection';
export * from './nats.transport';
export * from './rpc.client';
export * from './trace.hooks';
export * from './service-bootstrap';
export * from './rpc-passthrough.filter';
