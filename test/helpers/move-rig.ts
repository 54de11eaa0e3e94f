// A rig for moving tenants (PATCH /tenants/{id} with `destination`): two PostgreSQL servers
// registered as the static clusters "blue" and "green" through the API (POST /clusters), a local
// control-plane state directory, tenants created through POST /tenants (so their destination
// passwords are encrypted the way the API does it), and the pooler as a real process
// (`switchyard pooler --source local`) that the API's announce reaches with SIGHUP.
import { afterAll, beforeAll, expect } from 'vitest';
import { makeHandler as makeCreateTenant } from '../../functions/api/tenants-create.ts';
import { makeHandler as makeUpdateTenant } from '../../functions/api/tenants-update.ts';
import { invoke, localTestDeps, type InvokeResult, type LocalTestDeps } from '../../functions/lib/test-deps.ts';
import type { PoolSettingsInput } from '../../shared/src/domain/tenant.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg } from './clients.ts';
import { startPoolerProcess, type PoolerProcess } from './failover-rig.ts';
import { registerStaticCluster } from './provisioning.ts';
import { createDestination, randomPassword, superuserConn, type ConnSettings, type Destination } from './tenants.ts';

export interface MoveRig {
  blue: PostgresServer;
  green: PostgresServer;
  cp: LocalTestDeps;
  pooler: PoolerProcess;
}

/**
 * A destination role + database on `server` with a `writes` table the role owns; each row records
 * the server port it was written on.
 */
export async function createMoveDestination(server: PostgresServer, name: string, password?: string): Promise<Destination> {
  const d = await createDestination(server, { name, ...(password !== undefined ? { password } : {}) });
  await server.psql(
    `CREATE TABLE writes (writer int NOT NULL, seq int NOT NULL, port int NOT NULL DEFAULT inet_server_port(), PRIMARY KEY (writer, seq)); ALTER TABLE writes OWNER TO ${name}`,
    d.database,
  );
  return d;
}

/** Creates a tenant through POST /tenants on `clusterId`; returns the client's connection settings (pooler port filled in by the caller). */
export async function createTenantViaApi(
  cp: LocalTestDeps,
  opts: { tenantId: string; clusterId: string; destination: Destination; pool: PoolSettingsInput },
): Promise<Omit<ConnSettings, 'host' | 'port'>> {
  const client = { database: `app_${opts.tenantId.replaceAll('-', '_')}`, user: `usr_${opts.tenantId.replaceAll('-', '_')}`, password: randomPassword('cli') };
  const res = await invoke(makeCreateTenant(cp.deps), {
    method: 'POST',
    path: '/tenants',
    body: {
      tenantId: opts.tenantId,
      client,
      destination: { clusterId: opts.clusterId, database: opts.destination.database, user: opts.destination.user, password: opts.destination.password },
      pool: opts.pool,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return client;
}

/** PATCH /tenants/{id} with a destination change, under If-Match. */
export function moveTenant(cp: LocalTestDeps, tenantId: string, version: number, destination: Record<string, unknown>): Promise<InvokeResult> {
  return invoke(makeUpdateTenant(cp.deps), {
    method: 'PATCH',
    path: `/tenants/${tenantId}`,
    pathParameters: { id: tenantId },
    headers: { 'if-match': `"${version}"` },
    body: { destination },
  });
}

/** Sessions of `role` on `server` (the pooler's server connections there), counted by PostgreSQL. */
export async function sessionsOf(server: PostgresServer, role: string): Promise<number> {
  return Number(await server.psql(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${role}'`));
}

/** (writer, seq, port) rows stored on `server` in `database`. */
export async function writesOn(server: PostgresServer, database: string): Promise<{ writer: number; seq: number; port: number }[]> {
  const c = await connectPg(superuserConn(server, database));
  try {
    return (await c.query<{ writer: number; seq: number; port: number }>('SELECT writer, seq, port FROM writes ORDER BY writer, seq')).rows;
  } finally {
    await c.end();
  }
}

/**
 * Starts the servers and registers them as clusters in beforeAll, runs `setup` (tenants), starts
 * the pooler; stops everything in afterAll (after the `atEnd` callbacks).
 */
export function useMoveRig(setup: (rig: Omit<MoveRig, 'pooler'>) => Promise<void>): { readonly rig: MoveRig; atEnd(fn: () => unknown): void } {
  let rig: Partial<MoveRig> = {};
  const ends: Array<() => unknown> = [];
  beforeAll(async () => {
    rig.blue = await startPostgres();
    rig.green = await startPostgres();
    rig.cp = await localTestDeps();
    await registerStaticCluster(rig.cp.deps, 'blue', rig.blue);
    await registerStaticCluster(rig.cp.deps, 'green', rig.green);
    await setup(rig as Omit<MoveRig, 'pooler'>);
    rig.pooler = await startPoolerProcess(rig.cp.stateDir);
  }, 120_000);
  afterAll(async () => {
    for (const fn of ends) await fn();
    await rig.pooler?.stop();
    await rig.cp?.cleanup();
    await rig.green?.stop().catch(() => undefined);
    await rig.blue?.stop().catch(() => undefined);
    rig = {};
  });
  return {
    get rig() {
      if (!rig.pooler) throw new Error('the move rig is not running (use it inside tests)');
      return rig as MoveRig;
    },
    atEnd: (fn) => void ends.push(fn),
  };
}
