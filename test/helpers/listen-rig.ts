// The set-up of the LISTEN/NOTIFY tests (docs/transaction-mode.md, "LISTEN and NOTIFY"): one
// PostgreSQL, transaction-mode tenants with a pool smaller than their clients, one in-process
// pooler; beforeAll/afterAll of the calling file. Also: waiting for node-postgres notifications.
import { afterAll, beforeAll } from 'vitest';
import type pg from 'pg';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, until } from './clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type ConnSettings, type PoolSettingsInput, type TestTenant } from './tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

export interface ListenRig {
  readonly pg: PostgresServer;
  readonly pooler: Pooler;
  /** The tenants, by id suffix (as given to listenRig). */
  readonly tenants: Record<string, TestTenant>;
  pooled(t: TestTenant): ConnSettings;
  direct(t: TestTenant): ConnSettings;
}

/** Tenants `<id>-<name>` in transaction mode with pool `size` (default 1) unless `pool` says otherwise. */
export function listenRig(id: string, names: string[], pool: PoolSettingsInput = {}, extra: Record<string, unknown> = {}): ListenRig {
  const rig = { tenants: {} as Record<string, TestTenant> } as { pg: PostgresServer; pooler: Pooler; tenants: Record<string, TestTenant> };
  beforeAll(async () => {
    rig.pg = await startPostgres();
    for (const n of names) rig.tenants[n] = await createTenant(rig.pg, { id: `${id}-${n}`, pool: { mode: 'transaction', size: 1, ...pool } });
    rig.pooler = await startPooler(poolerConfig(Object.values(rig.tenants).map((t) => t.config), extra), { logger: testLogger() });
  }, 120_000);
  afterAll(async () => {
    await rig.pooler?.close(1000);
    await rig.pg?.stop();
  });
  return {
    get pg() {
      return rig.pg;
    },
    get pooler() {
      return rig.pooler;
    },
    tenants: rig.tenants,
    pooled: (t) => poolerConn(rig.pooler, t),
    direct: (t) => destinationConn(t),
  };
}

/** Notifications a node-postgres client receives, recorded from the moment of the call. */
export function recordNotifications(client: pg.Client): pg.Notification[] {
  const got: pg.Notification[] = [];
  client.on('notification', (n) => got.push(n));
  return got;
}

/** A NoticeResponse as node-postgres reports it. */
export interface Notice {
  message: string;
  severity?: string;
  code?: string;
}

/** Notices (NoticeResponse) a node-postgres client receives, recorded from the moment of the call. */
export function recordNotices(client: pg.Client): Notice[] {
  const got: Notice[] = [];
  client.on('notice', (n) => got.push(n as Notice));
  return got;
}

/** Waits (polling, with a deadline) until `got` holds `n` notifications. */
export async function untilNotified(got: readonly pg.Notification[], n: number, what: string, ms = 20_000): Promise<void> {
  await until(() => got.length >= n, ms, `${what}: ${got.length} of ${n} notifications`);
}

/** NOTIFY sent on a fresh connection (through the pooler or directly), committed when it returns. */
export async function notifyVia(c: ConnSettings, channel: string, payload: string): Promise<void> {
  const client = await connectPg(c);
  try {
    await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
  } finally {
    await client.end();
  }
}
