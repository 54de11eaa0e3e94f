// Public API of the pooler package.
export { Pooler, startPooler, type PoolerOptions } from './pooler.ts';
export { configSchema, type PoolerConfig, type PoolerConfigInput, type TenantConfig, type PoolSettings } from './config/schema.ts';
export { loadConfigFile, parseConfig } from './config/load.ts';
export { ConfigError } from './config/snapshot.ts';
export { PoolerError, errorCatalog, type PoolerErrorCode } from './errors.ts';
export { SourceController, type SourceControllerOptions } from './config/sources/controller.ts';
export { FileSource } from './config/sources/file-source.ts';
export { createLocalSource, writePidFile } from './config/sources/local-source.ts';
export { createAwsSource } from './config/sources/aws-source.ts';
export { StoreSource } from './config/sources/store-source.ts';
export { tenantToConfig } from './config/sources/tenant-config.ts';
export type { ConfigSource, SourceLoad, SourceKind } from './config/sources/types.ts';
