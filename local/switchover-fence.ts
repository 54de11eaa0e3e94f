// The database half of a planned switchover on one machine (local/switchover.ts): with the
// poolers already holding new transactions,
//   1. drain: wait until no session on the primary has a transaction open (pg_stat_activity
//      xact_start), bounded by the drain timeout — open transactions finish and commit;
//   2. fence: note the primary's WAL insert position, then stop it (fast shutdown: whatever is
//      still open after the drain bound is rolled back and its client gets the error of an
//      unplanned failover). A stopped primary accepts no write after the switch;
//   3. wait until the standby has received WAL up to that position, so every commit the primary
//      acknowledged is on the standby (asynchronous replication included; a clean shutdown also
//      streams its WAL to the standby first — PostgreSQL docs, "Log-Shipping Standby Servers");
//   4. promote the standby.
// If the standby does not catch up, it is not promoted and the caller restarts the old primary:
// promoting it would lose acknowledged commits.
export interface FenceNode {
  psql(sql: string): Promise<string>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  promote(): Promise<void>;
}

export interface FenceOptions {
  /** How long open transactions may take to finish, ms. */
  drainTimeoutMs: number;
  /** How long the standby may take to receive the primary's last WAL, ms. */
  catchUpTimeoutMs?: number;
}

export interface FenceResult {
  drainedAt: number;
  /** Transactions still open when the drain bound ran out (rolled back by the stop). */
  openTransactionsCut: number;
  /** The primary's WAL insert position after the drain. */
  fenceLsn: string;
  primaryStoppedAt: number;
  standbyCaughtUpAt: number;
  promotedAt: number;
}

export class FenceError extends Error {
  /** The primary was stopped (the caller must start it again). */
  readonly primaryStopped: boolean;
  constructor(message: string, primaryStopped: boolean) {
    super(message);
    this.name = 'FenceError';
    this.primaryStopped = primaryStopped;
  }
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
const CATCH_UP_TIMEOUT_MS = 10_000;
const POLL_MS = 10;

const OPEN_TRANSACTIONS_SQL = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start IS NOT NULL";

/**
 * Before the switch begins (clients are not held yet): a checkpoint, so that the shutdown
 * checkpoint of the fence has little left to write and the pause is shorter.
 */
export async function prepareSwitchover(primary: FenceNode): Promise<void> {
  await primary.psql('CHECKPOINT');
}

/** Open transactions on `node` once none is left or the bound runs out. */
export async function drainTransactions(node: FenceNode, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = Number(await node.psql(OPEN_TRANSACTIONS_SQL));
    if (open === 0 || Date.now() >= deadline) return open;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function fenceAndPromote(primary: FenceNode, standby: FenceNode, opts: FenceOptions): Promise<FenceResult> {
  const openTransactionsCut = await drainTransactions(primary, opts.drainTimeoutMs);
  const drainedAt = Date.now();
  const fenceLsn = (await primary.psql('SELECT pg_current_wal_insert_lsn()')).trim();
  if (!/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/.test(fenceLsn)) throw new FenceError(`unexpected WAL position from the primary: ${JSON.stringify(fenceLsn.slice(0, 40))}`, false);
  await primary.stop('fast');
  const primaryStoppedAt = Date.now();
  const deadline = Date.now() + (opts.catchUpTimeoutMs ?? CATCH_UP_TIMEOUT_MS);
  for (;;) {
    const ok = (await standby.psql(`SELECT coalesce(pg_last_wal_receive_lsn() >= '${fenceLsn}'::pg_lsn, false)`).catch(() => 'f')).trim();
    if (ok === 't') break;
    if (Date.now() >= deadline) throw new FenceError(`the standby did not receive the primary's WAL up to ${fenceLsn} within ${(opts.catchUpTimeoutMs ?? CATCH_UP_TIMEOUT_MS) / 1000} s; not promoted`, true);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const standbyCaughtUpAt = Date.now();
  await standby.promote();
  return { drainedAt, openTransactionsCut, fenceLsn, primaryStoppedAt, standbyCaughtUpAt, promotedAt: Date.now() };
}
