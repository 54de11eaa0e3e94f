// createLocalAdapters(stateDir): every port backed by files in one directory —
//   store.json, heartbeats.json   tenants, clusters, login guards, heartbeats (file-store.ts)
//   node-leases.json              poolers' cancel-key node ids and peer addresses (file-store.ts)
//   secret.key                    AES-256-GCM key, mode 0600 (secret-box.ts)
//   config.json                   cluster targets + config version (config-channel.ts)
//   pooler.pid                    written by a local pooler; pushReload sends it SIGHUP
import { join } from 'node:path';
import type { Adapters } from '../ports/adapters.ts';
import { ensureDir } from './atomic-file.ts';
import { LocalConfigChannel } from './config-channel.ts';
import { createFileStores } from './file-store.ts';
import { PgTopology } from './pg-topology.ts';
import { LocalSecretBox } from './secret-box.ts';

export const LOCAL_KEY_FILE = 'secret.key';

export interface LocalAdaptersOptions {
  now?: () => Date;
  /** Defaults to `<stateDir>/secret.key`. */
  keyFile?: string;
  topologyTimeoutMs?: number;
}

export async function createLocalAdapters(stateDir: string, opts: LocalAdaptersOptions = {}): Promise<Adapters> {
  await ensureDir(stateDir);
  const stores = await createFileStores(stateDir, opts.now ? { now: opts.now } : {});
  const secrets = await LocalSecretBox.fromKeyFile(opts.keyFile ?? join(stateDir, LOCAL_KEY_FILE));
  return {
    ...stores,
    secrets,
    config: new LocalConfigChannel(stateDir),
    topology: new PgTopology({ secrets, ...(opts.topologyTimeoutMs ? { timeoutMs: opts.topologyTimeoutMs } : {}) }),
    close: async () => undefined,
  };
}
