// `switchyard pooler --source local --state-dir DIR`: the pooler reads the local control plane's
// state (tenants in the file store, passwords under the local key, cluster targets and the config
// version in config.json), writes `<stateDir>/pooler.pid` so the control plane's pushReload
// (SIGHUP) reaches it, applies a pushed change — a new tenant, a suspended one — and removes the
// pid file when it stops.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTargetsOf } from '../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import { LOCAL_POOLER_PID_FILE } from '../shared/src/local/config-channel.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, until, type PgClient } from './helpers/clients.ts';
import { startPoolerProcess, type PoolerProcess } from './helpers/failover-rig.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, type Destination } from './helpers/tenants.ts';

let pg: PostgresServer;
let stateDir: string;
let a: Adapters;
let pooler: PoolerProcess | undefined;
const clients: PgClient[] = [];

async function addTenant(tenantId: string, name: string): Promise<{ dest: Destination; password: string }> {
  const dest = await createDestination(pg, { name });
  const password = randomPassword('cli');
  const ctx = { clusterId: 'local' };
  await a.tenants.create({
    tenantId,
    client: { database: `app_${name}`, user: `usr_${name}` },
    clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
    destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await a.secrets.encrypt(dest.password, tenantSecretContext(tenantId, ctx)) },
    pool: { size: 2 },
  });
  return { dest, password };
}

async function login(name: string, password: string): Promise<PgClient> {
  const c = await connectPg({ host: '127.0.0.1', port: pooler!.port, database: `app_${name}`, user: `usr_${name}`, password });
  clients.push(c);
  return c;
}

let first: { dest: Destination; password: string };

beforeAll(async () => {
  pg = await startPostgres();
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-local-'));
  a = await createLocalAdapters(stateDir);
  const cluster = await a.clusters.create({ clusterId: 'local', kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [] });
  await a.config.publishClusterTargets('local', clusterTargetsOf(cluster));
  first = await addTenant('local-first', 'local_first');
  await a.config.bumpConfigVersion();
  pooler = await startPoolerProcess(stateDir);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.stop();
  await pg?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('pooler --source local', () => {
  it('serves the stored tenant and writes its pid for the control plane', async () => {
    const c = await login('local_first', first.password);
    const r = await c.query<{ user: string; db: string }>('SELECT current_user AS user, current_database() AS db');
    expect(r.rows[0]).toEqual({ user: first.dest.user, db: first.dest.database });
    expect(readFileSync(join(stateDir, LOCAL_POOLER_PID_FILE), 'utf8').split('\n')[0]).toBe(String(pooler!.child.pid));
  });

  it('applies a pushed change: a new tenant appears, a suspended one is closed and refused', async () => {
    const held = clients[0]!;
    const second = await addTenant('local-second', 'local_second');
    await a.config.bumpConfigVersion();
    expect((await a.config.pushReload()).signalled).toBe(true);
    await until(async () => {
      try {
        await login('local_second', second.password);
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'the new tenant served');

    const t = (await a.tenants.get('local-first'))!;
    await a.tenants.update('local-first', t.version, { status: 'suspended' });
    await a.config.bumpConfigVersion();
    expect((await a.config.pushReload()).signalled).toBe(true);
    // The idle client of the suspended tenant is closed; new logins are refused with 57P03.
    await until(() => backgroundErrorsOf(held).length > 0, 20_000, 'the suspended tenant’s client closed');
    const err = pgErrorInfo(await rejectionOf(login('local_first', first.password)));
    expect(err.code).toBe('57P03');
  });

  it('removes the pid file when it stops', async () => {
    await pooler!.stop();
    expect(existsSync(join(stateDir, LOCAL_POOLER_PID_FILE))).toBe(false);
    expect(pooler!.child.exitCode).toBe(0);
  });
});
