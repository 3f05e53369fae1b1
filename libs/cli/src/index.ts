export * from './main';
export * from './paths';
export * from './args';
