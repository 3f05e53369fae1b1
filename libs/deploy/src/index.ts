export * from './layout';
export * from './flows';
export * from './nft';
export * from './generate';
export * from './firewall-rules';
export * from './image-pins';
