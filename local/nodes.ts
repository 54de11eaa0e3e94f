// The two PostgreSQL nodes of the local cluster: `a` and `b`, each in `<stateDir>/pg/<name>` on a
// port of its own. Which one is the primary is not fixed: after a failover `b` is the primary and
// `a` is rebuilt as its standby. The truth lives on disk (a standby has `standby.signal` in its
// data directory; PostgreSQL docs, "Standby Server Operation") and, while running, in
// `pg_is_in_recovery()`.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Endpoint } from '../shared/src/domain/common.ts';
import { findPostgresBinDir, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import type { NodeName, StateLayout } from './layout.ts';
import { commandArgs, isAlive, waitForExit } from './pids.ts';

const execFileAsync = promisify(execFile);

export const LOCALHOST = '127.0.0.1';

/**
 * Settings over startPostgres()'s test defaults: this is a real deployment, so durability is back
 * on (the tests run with fsync off), and the primary keeps some WAL so a standby that was stopped
 * for a while can catch up by streaming instead of being rebuilt.
 */
export const NODE_SETTINGS: Record<string, string | number> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  wal_keep_size: "'256MB'",
  max_wal_senders: 5,
};

export type NodeRole = 'primary' | 'standby' | 'down' | 'rebuilding';

export interface NodeInfo {
  name: NodeName;
  host: string;
  port: number;
  role: NodeRole;
  /** Standby: its WAL receiver is streaming from the primary. Primary: a standby streams from it. */
  streaming: boolean;
  /** The postmaster's pid while running. */
  pid?: number;
}

export class NodeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'NodeError';
    this.code = code;
  }
}

/** A live `postgres` process started with `-D dataDir`. */
function isPostmasterOf(pid: number, dataDir: string): boolean {
  if (!isAlive(pid)) return false;
  const args = commandArgs(pid);
  // Without /proc (not Linux) we cannot tell; the pid file is PostgreSQL's own and it is alive.
  if (args === undefined) return true;
  const d = args.indexOf('-D');
  return basename(args[0] ?? '') === 'postgres' && d > 0 && args[d + 1] === dataDir;
}

export class PgNode {
  readonly name: NodeName;
  readonly port: number;
  readonly root: string;
  readonly dataDir: string;
  readonly #superuserPassword: string;
  server: PostgresServer | undefined;
  rebuilding = false;

  constructor(layout: StateLayout, name: NodeName, port: number, superuserPassword: string) {
    this.name = name;
    this.port = port;
    this.root = layout.nodeRoot(name);
    this.dataDir = join(this.root, 'data');
    this.#superuserPassword = superuserPassword;
  }

  get endpoint(): Endpoint {
    return { host: LOCALHOST, port: this.port };
  }

  hasData(): boolean {
    return existsSync(join(this.dataDir, 'PG_VERSION'));
  }

  /** Configured as a standby on disk (PostgreSQL ≥ 12: `standby.signal`). */
  isStandbyOnDisk(): boolean {
    return existsSync(join(this.dataDir, 'standby.signal'));
  }

  /**
   * The postmaster pid from `postmaster.pid` (first line), if that process is alive and is the
   * server of this very data directory: its arguments hold `-D <dataDir>` (pg_ctl starts it so).
   * After a crash the pid may belong to anything — another PostgreSQL, or a `tail -f` of our log
   * whose command line also says "postgres" — and must not get the SIGINT.
   */
  postmasterPid(): number | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8');
    } catch {
      return undefined;
    }
    const pid = Number(text.split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 1 && isPostmasterOf(pid, this.dataDir) ? pid : undefined;
  }

  /**
   * Stops a server a previous run left running (its `switchyard start` died without stopping it).
   * SIGINT is PostgreSQL's fast shutdown (docs, "Shutting Down the Server").
   */
  async stopLeftover(): Promise<boolean> {
    const pid = this.postmasterPid();
    if (pid === undefined) return false;
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 60_000))) {
      // SIGQUIT: immediate shutdown; crash recovery runs at the next start.
      process.kill(pid, 'SIGQUIT');
      await waitForExit(pid, 10_000);
    }
    return true;
  }

  async start(standbyOf?: PgNode): Promise<void> {
    this.server = await startPostgres({
      dataDir: this.root,
      port: this.port,
      superuserPassword: this.#superuserPassword,
      settings: NODE_SETTINGS,
      ...(standbyOf ? { standbyOf: standbyOf.endpoint } : {}),
    });
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    await s.stop(mode);
    this.server = undefined;
  }

  async promote(): Promise<void> {
    if (this.server === undefined) throw new NodeError('NODE_DOWN', `node ${this.name} is not running`);
    await this.server.promote();
  }

  /** Runs SQL as the superuser over the node's Unix socket. */
  async psql(sql: string): Promise<string> {
    if (this.server === undefined) throw new NodeError('NODE_DOWN', `node ${this.name} is not running`);
    return this.server.psql(sql);
  }

  async info(): Promise<NodeInfo> {
    const base = { name: this.name, host: LOCALHOST, port: this.port };
    if (this.rebuilding) return { ...base, role: 'rebuilding', streaming: false };
    const pid = this.postmasterPid();
    const withPid = pid !== undefined ? { ...base, pid } : base;
    if (this.server === undefined) return { ...withPid, role: 'down', streaming: false };
    try {
      const out = await this.psql(
        "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN (SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming') ELSE (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming') END",
      );
      const [recovery, streaming] = out.split('|');
      return { ...withPid, role: recovery === 't' ? 'standby' : 'primary', streaming: Number(streaming) > 0 };
    } catch {
      return { ...withPid, role: 'down', streaming: false };
    }
  }

  /** The timeline of the last checkpoint (pg_controldata): a promoted node is on a newer one. */
  async timeline(): Promise<number> {
    try {
      const { stdout } = await execFileAsync(join(findPostgresBinDir(), 'pg_controldata'), ['-D', this.dataDir], { env: { ...process.env, LC_ALL: 'C' } });
      const m = /Latest checkpoint's TimeLineID:\s*(\d+)/.exec(stdout);
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  /**
   * Throws this node's data away and makes it a fresh streaming standby of `primary`
   * (pg_basebackup -R). Used for the first standby, for an interrupted rebuild, and for the old
   * primary after a failover (it may hold WAL the new primary never saw, so it cannot just follow).
   */
  async rebuildAsStandbyOf(primary: PgNode): Promise<void> {
    this.rebuilding = true;
    try {
      await this.stop('fast').catch(() => this.stop('immediate'));
      rmSync(this.dataDir, { recursive: true, force: true });
      await this.start(primary);
    } finally {
      this.rebuilding = false;
    }
  }

  /** Waits until this standby streams from its primary; false on timeout. */
  async waitStreaming(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = await this.info();
      if (i.role === 'standby' && i.streaming) return true;
      if (Date.now() > until) return false;
      await sleep(100);
    }
  }
}
