export * from './x509';
export * from './local-ca';
