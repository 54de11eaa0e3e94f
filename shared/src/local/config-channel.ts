// Local ConfigChannel: cluster targets and the config version in `<stateDir>/config.json`
// (atomic replace, see atomic-file.ts), and a reload push that sends SIGHUP to the local pooler
// whose pid is in `<stateDir>/pooler.pid` (the pooler writes that file when it starts, with its
// start time: a file left by a crash whose pid now names another process is ignored, pid-file.ts).
import { join } from 'node:path';
import { z } from 'zod';
import { clusterTargetsSchema, type ClusterTargets } from '../domain/cluster-targets.ts';
import { parseOrThrow } from '../domain/parse.ts';
import type { ConfigChannel, ReloadPushResult } from '../ports/config-channel.ts';
import { ensureDir, readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.ts';
import { readLivePid } from './pid-file.ts';

const configStateSchema = z.object({
  version: z.number().int().nonnegative().default(0),
  clusters: z.record(z.string(), clusterTargetsSchema).default({}),
});
type ConfigState = z.infer<typeof configStateSchema>;

export const LOCAL_CONFIG_FILE = 'config.json';
export const LOCAL_POOLER_PID_FILE = 'pooler.pid';

export class LocalConfigChannel implements ConfigChannel {
  readonly stateDir: string;
  readonly #file: string;
  constructor(stateDir: string) {
    this.stateDir = stateDir;
    this.#file = join(stateDir, LOCAL_CONFIG_FILE);
  }

  async #read(): Promise<ConfigState> {
    return parseOrThrow(configStateSchema, (await readJsonFile(this.#file)) ?? {}, LOCAL_CONFIG_FILE);
  }

  async #mutate<R>(fn: (s: ConfigState) => R): Promise<R> {
    await ensureDir(this.stateDir);
    return withFileLock(this.#file, async () => {
      const s = await this.#read();
      const r = fn(s);
      await writeFileAtomic(this.#file, JSON.stringify(s, null, 2) + '\n', 0o644);
      return r;
    });
  }

  async publishClusterTargets(clusterId: string, targets: ClusterTargets): Promise<boolean> {
    const t = parseOrThrow(clusterTargetsSchema, targets, 'cluster targets');
    return this.#mutate((s) => {
      const current = Object.hasOwn(s.clusters, clusterId) ? s.clusters[clusterId] : undefined;
      if (current && current.epoch > t.epoch) return false;
      s.clusters[clusterId] = t;
      return true;
    });
  }

  async getClusterTargets(clusterId: string): Promise<ClusterTargets | undefined> {
    const s = await this.#read();
    return Object.hasOwn(s.clusters, clusterId) ? s.clusters[clusterId] : undefined;
  }

  async deleteClusterTargets(clusterId: string): Promise<void> {
    await this.#mutate((s) => {
      delete s.clusters[clusterId];
    });
  }

  async bumpConfigVersion(): Promise<number> {
    // Under the file lock, so strictly increasing and never reused.
    return this.#mutate((s) => (s.version += 1));
  }

  async catchUpConfigVersion(): Promise<number | undefined> {
    // The bump allocates and publishes in one atomic file write: nothing is ever left behind.
    return undefined;
  }

  async getConfigVersion(): Promise<number> {
    return (await this.#read()).version;
  }

  async pushReload(): Promise<ReloadPushResult> {
    // Absent, or stale (the pooler that wrote it is gone; its pid may be someone else's now).
    const pid = readLivePid(join(this.stateDir, LOCAL_POOLER_PID_FILE));
    if (pid === undefined) return { signalled: false };
    try {
      process.kill(pid, 'SIGHUP');
      return { signalled: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return { signalled: false }; // exited meanwhile
      throw err;
    }
  }
}
