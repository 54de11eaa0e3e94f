// The set-up of tests that run the same requests in both pool modes: one
// PostgreSQL, a tenant per pool mode (`<id>-txn`, `<id>-session`) and one in-process pooler
// serving both, started in beforeAll and stopped in afterAll of the calling test file.
import { afterAll, beforeAll } from 'vitest';
import type { PoolStats } from '../../pooler/src/backend/pool.ts';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type ConnSettings, type PoolSettingsInput, type TestTenant } from './tenants.ts';

export const MODES = ['session', 'transaction'] as const;
export type Mode = (typeof MODES)[number];

type Pooler = Awaited<ReturnType<typeof startPooler>>;

export interface PoolerPerMode {
  /** The tenant of each pool mode (filled in by beforeAll). */
  readonly tenants: Record<Mode, TestTenant>;
  /** How a client of `t` reaches it through the pooler. */
  pooled(t: TestTenant): ConnSettings;
  /** The PostgreSQL server (after beforeAll). */
  readonly pg: PostgresServer;
  /** The pooler's view of `t`'s pool now (server connections open, waiting clients…). */
  poolStats(t: TestTenant): PoolStats;
}

/**
 * Registers the beforeAll/afterAll. `sizes` are the pool sizes; `prepare` runs on PostgreSQL after
 * the tenants exist and before the pooler starts; `pool` adds settings to both tenants' pools.
 */
export function poolerPerMode(
  id: string,
  sizes: Record<Mode, number>,
  prepare?: (pg: PostgresServer, tenants: Record<Mode, TestTenant>) => Promise<void>,
  pool: Omit<PoolSettingsInput, 'mode' | 'size'> = {},
): PoolerPerMode {
  let pg: PostgresServer | undefined;
  let pooler: Pooler | undefined;
  const tenants = {} as Record<Mode, TestTenant>;

  beforeAll(async () => {
    pg = await startPostgres();
    tenants.transaction = await createTenant(pg, { id: `${id}-txn`, pool: { ...pool, mode: 'transaction', size: sizes.transaction } });
    tenants.session = await createTenant(pg, { id: `${id}-session`, pool: { ...pool, mode: 'session', size: sizes.session } });
    await prepare?.(pg, tenants);
    pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
  });

  afterAll(async () => {
    await pooler?.close();
    await pg?.stop();
  });

  return {
    tenants,
    get pg(): PostgresServer {
      if (pg === undefined) throw new Error('PostgreSQL has not started (beforeAll failed?)');
      return pg;
    },
    poolStats: (t) => {
      const s = pooler?.poolStats().find((p) => p.tenantId === t.id);
      if (s === undefined) throw new Error(`no pool for tenant ${t.id}`);
      return s;
    },
    pooled: (t) => {
      if (pooler === undefined) throw new Error('the pooler has not started (beforeAll failed?)');
      return poolerConn(pooler, t);
    },
  };
}
