// The local control plane as a config source (docs/architecture.md, "Local mode"): tenants from the
// file store in a state directory, destination passwords opened with the local key file, cluster
// targets and the config version from `<stateDir>/config.json`, and the local topology (each
// member asked `pg_is_in_recovery()`) when a pool finds its target is no longer the writer.
// The control plane's pushReload sends SIGHUP to the pid in `<stateDir>/pooler.pid`, which the
// CLI writes with writePidFile() — with this process's start time, so that a file left by a
// crash never gets the process that later reuses the pid signalled (shared/src/local/pid-file.ts,
// the one pid-file protocol; this file only names where the pooler's pid file is).
import { join } from 'node:path';
import { createLocalAdapters } from '../../../../shared/src/local/adapters.ts';
import { LOCAL_POOLER_PID_FILE } from '../../../../shared/src/local/config-channel.ts';
import { writePidFile as writeProcessPidFile } from '../../../../shared/src/local/pid-file.ts';
import type { Logger } from '../../log.ts';
import type { PoolerConfig } from '../schema.ts';
import { StoreSource } from './store-source.ts';

export interface LocalSourceOptions {
  log: Logger;
  base: () => PoolerConfig;
  now?: () => Date;
  /** Per member, when asking the topology. */
  topologyTimeoutMs?: number;
}

export async function createLocalSource(stateDir: string, opts: LocalSourceOptions): Promise<StoreSource> {
  const adapters = await createLocalAdapters(stateDir, opts.topologyTimeoutMs !== undefined ? { topologyTimeoutMs: opts.topologyTimeoutMs } : {});
  return new StoreSource({
    kind: 'local',
    adapters,
    base: opts.base,
    log: opts.log,
    useTopology: true,
    ...(opts.now ? { now: opts.now } : {}),
    close: () => adapters.close(),
  });
}

/**
 * Writes this process's pid to `<stateDir>/pooler.pid` so the local control plane can SIGHUP it;
 * returns a function that removes the file if it still names this process.
 */
export function writePidFile(stateDir: string, pid = process.pid): () => void {
  return writeProcessPidFile(join(stateDir, LOCAL_POOLER_PID_FILE), pid);
}
