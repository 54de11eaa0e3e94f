// The lazy reset's tests (backend/pool.ts park): a transaction-mode client's temporary table shows
// whether its server connection was reset between two of its transactions. A parked connection
// keeps it (no DISCARD ALL ran); any other client, or the owner after its connection was taken
// away, finds none.
import { expect } from 'vitest';
import { connectPg, endQuietly, until } from './clients.ts';
import type { ProtocolClient } from './raw-protocol.ts';
import type { ConnSettings } from './tenants.ts';
import { firstValue } from './session-leaks.ts';

export const HAS_TEMP = "SELECT (to_regclass('pg_temp.lazy_mark') IS NOT NULL)::text";

/**
 * `c` (alone on its pool) creates a temporary table, then in its next transaction finds it on the
 * same backend: its connection was parked, not reset. Returns that backend's pid.
 */
export async function parkWithTempTable(c: ProtocolClient): Promise<string> {
  const pid = await firstValue(c, 'CREATE TEMP TABLE lazy_mark (v int); SELECT pg_backend_pid()::text');
  expect(await firstValue(c, 'SELECT pg_backend_pid()::text'), 'the same backend').toBe(pid);
  expect(await firstValue(c, HAS_TEMP), 'its temporary table survived its transaction (no reset: parked)').toBe('true');
  return pid!;
}

/** Waits until PostgreSQL no longer has backend `pid` (the pooler closed that server connection). */
export async function untilBackendGone(direct: ConnSettings, pid: string, what: string): Promise<void> {
  const su = await connectPg(direct);
  try {
    await until(async () => (await su.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [Number(pid)])).rowCount === 0, 30_000, what);
  } finally {
    await endQuietly(su);
  }
}

/** After its parked connection was closed, `c`'s next transaction runs on a new backend, without its table. */
export async function expectFreshBackend(c: ProtocolClient, oldPid: string): Promise<void> {
  expect(await firstValue(c, 'SELECT pg_backend_pid()::text'), 'another backend').not.toBe(oldPid);
  expect(await firstValue(c, HAS_TEMP), 'nothing of the old session').toBe('false');
}
