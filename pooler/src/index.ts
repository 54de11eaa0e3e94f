// Public API of the pooler package.
export { Pooler, startPooler, type PoolerOptions } from './pooler.ts';
export { configSchema, type PoolerConfig, type PoolerConfigInput, type TenantConfig, type PoolSettings } from './config/schema.ts';
export { loadConfigFile, parseConfig } from './config/load.ts';
export { ConfigError } from './config/snapshot.ts';
export { PoolerError, errorCatalog, type PoolerErrorCode } from './errors.ts';
