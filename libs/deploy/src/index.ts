export * from './layout';
export * from './flows';
