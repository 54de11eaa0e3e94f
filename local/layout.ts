// Where the local stack keeps its state: ONE directory (default `.switchyard/` in the checkout),
// so `rm -r .switchyard` is a factory reset and a restart finds everything again.
//
//   store.json, heartbeats.json, config.json, secret.key   the control plane's local adapters
//                                                            (shared/src/local/adapters.ts)
//   pooler.pid                                              written by the pooler process itself
//   local.json                                              this stack: cluster id, node ports
//   switchyard.pid                                          the `switchyard start` process
//   stack.json                                              where everything listens (while running)
//   pooler.yaml                                             the pooler's listener/admin/metrics settings
//   postgres.password, admin.password                       generated secrets, mode 0600
//   pg/a, pg/b                                              the two PostgreSQL nodes (data, socket, log)
//   logs/api.log, logs/pooler.log                           JSON logs (pino)
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LOCAL_POOLER_PID_FILE } from '../shared/src/local/config-channel.ts';

export const NODE_NAMES = ['a', 'b'] as const;
export type NodeName = (typeof NODE_NAMES)[number];

export interface StateLayout {
  readonly dir: string;
  readonly localFile: string;
  readonly stackPidFile: string;
  readonly stackFile: string;
  readonly poolerPidFile: string;
  readonly poolerConfig: string;
  readonly superuserPasswordFile: string;
  readonly adminPasswordFile: string;
  readonly logsDir: string;
  readonly apiLog: string;
  readonly poolerLog: string;
  readonly pgDir: string;
  nodeRoot(name: NodeName): string;
}

export function stateLayout(dir: string): StateLayout {
  const d = resolve(dir);
  return {
    dir: d,
    localFile: join(d, 'local.json'),
    stackPidFile: join(d, 'switchyard.pid'),
    stackFile: join(d, 'stack.json'),
    poolerPidFile: join(d, LOCAL_POOLER_PID_FILE),
    poolerConfig: join(d, 'pooler.yaml'),
    superuserPasswordFile: join(d, 'postgres.password'),
    adminPasswordFile: join(d, 'admin.password'),
    logsDir: join(d, 'logs'),
    apiLog: join(d, 'logs', 'api.log'),
    poolerLog: join(d, 'logs', 'pooler.log'),
    pgDir: join(d, 'pg'),
    nodeRoot: (name) => join(d, 'pg', name),
  };
}

/**
 * Creates the state directory tree. Mode 0755 on the directories on the way to the PostgreSQL
 * nodes: when we run as root the servers run as the `postgres` OS user (initdb refuses root), and
 * that user must be able to traverse into `pg/<node>`. Files holding secrets are 0600 on their own.
 */
export function ensureLayout(l: StateLayout): void {
  for (const d of [l.dir, l.pgDir]) {
    mkdirSync(d, { recursive: true, mode: 0o755 });
    chmodSync(d, 0o755);
  }
  mkdirSync(l.logsDir, { recursive: true, mode: 0o755 });
}

/**
 * When we are root the PostgreSQL servers run as the `postgres` OS user, which must be able to
 * reach `<stateDir>/pg`: every directory above it needs the "others may traverse" bit (o+x).
 * Returns the first directory that lacks it (e.g. /root, mode 0700), else undefined.
 */
export function untraversableAncestor(dir: string): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let d = dirname(resolve(dir));
  for (;;) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      // does not exist yet: created with 0755
    }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}
