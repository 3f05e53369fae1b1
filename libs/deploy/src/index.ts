export * from './layout';
export * from './flows';
export * from './nft';
export * from './generate';
export * from './firewall-rules';
export * from './sandbox-egress';
export * from './image-pins';
