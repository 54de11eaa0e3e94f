// The control-plane contract in one import: domain schemas/types/errors and the ports. Adapters
// are deliberately NOT re-exported (the AWS ones pull in the SDK): import
// shared/src/aws/adapters.ts or shared/src/local/adapters.ts directly.
export * from './domain/common.ts';
export * from './domain/errors.ts';
export * from './domain/tenant.ts';
export * from './domain/cluster.ts';
export * from './domain/cluster-targets.ts';
export * from './domain/heartbeat.ts';
export * from './domain/writer-change.ts';
export * from './domain/lifecycle.ts';
export * from './domain/paging.ts';
export * from './domain/parse.ts';
export type * from './ports/store.ts';
export type * from './ports/secret-box.ts';
export type * from './ports/config-channel.ts';
export type * from './ports/topology.ts';
export type * from './ports/adapters.ts';
