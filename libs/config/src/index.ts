export * from './config.loader';
export * from './base.config';
export * from './sensitive.decorator';
