// For the local and AWS sources, the listener, limits and log settings still come from an
// optional YAML file (deploy/user-data.ts writes /etc/switchyard/pooler.yaml); the tenants come
// from the source, so a file that lists tenants is refused rather than half-used.
import { configSchema, type PoolerConfig } from '../schema.ts';
import { loadConfigFile } from '../load.ts';
import { ConfigError } from '../snapshot.ts';
import type { SourceKind } from './types.ts';

export interface BaseConfig {
  config: PoolerConfig;
  /** Directory relative paths resolve against. */
  baseDir: string;
}

/** Reads `file` (or the defaults when absent) without tenants. */
export function loadBaseConfig(file: string | undefined, source: SourceKind): BaseConfig {
  if (file === undefined) return { config: configSchema.parse({}), baseDir: process.cwd() };
  const loaded = loadConfigFile(file);
  if (loaded.config.tenants.length > 0) {
    throw new ConfigError(`${file}: tenants come from the ${source} source; remove the tenants list from this file`);
  }
  return loaded;
}
