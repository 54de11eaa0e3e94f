// POST /tenants with provision: true against a real PostgreSQL: the role and its own database are
// created, the returned password logs in as that role to that database, other roles cannot connect
// to it, and repeating the request (or provisioning twice) changes nothing.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';
import { registerStaticCluster } from './helpers/provisioning.ts';

/** Logs in over TCP (password auth), optionally writes a row, and says who and where it is. */
async function canConnect(server: PostgresServer, user: string, password: string, database: string, write = true): Promise<string> {
  const c = new pg.Client({ host: server.host, port: server.port, user, password, database });
  await c.connect();
  try {
    if (write) {
      await c.query('CREATE TABLE IF NOT EXISTS t (x int)');
      await c.query('INSERT INTO t VALUES (1)');
    }
    const r = await c.query<{ u: string; d: string }>('SELECT current_user AS u, current_database() AS d');
    return `${r.rows[0]?.u}@${r.rows[0]?.d}`;
  } finally {
    await c.end();
  }
}

describe('provisioning: database per tenant', () => {
  let server: PostgresServer;
  let t: LocalTestDeps;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    t = await localTestDeps();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  function registerCluster(clusterId: string, admin: { user: string; password: string }): Promise<void> {
    return registerStaticCluster(t.deps, clusterId, server, admin);
  }

  it('creates a role and database usable with the returned password; a replay changes nothing', async () => {
    await registerCluster('pg1', { user: 'postgres', password: server.superuserPassword });
    const create = makeCreateTenant(t.deps);
    const body = { tenantId: 'shop-one', client: { database: 'shop', user: 'shop_app' }, destination: { clusterId: 'pg1', database: 'shop_db', user: 'shop_owner' }, provision: true };
    const res = await invoke(create, { method: 'POST', path: '/tenants', body });
    expect(res.status).toBe(201);
    const password = field<string>(res.body, 'password');
    expect(await canConnect(server, 'shop_owner', password, 'shop_db')).toBe('shop_owner@shop_db');

    // PUBLIC may not connect to a tenant's database.
    await server.psql("CREATE ROLE snoop LOGIN PASSWORD 'snoop-password'");
    await expect(canConnect(server, 'snoop', 'snoop-password', 'shop_db', false)).rejects.toThrow(/permission denied/);

    const again = await invoke(create, { method: 'POST', path: '/tenants', body });
    expect(again.status).toBe(200);
    expect(await canConnect(server, 'shop_owner', password, 'shop_db')).toBe('shop_owner@shop_db');
    expect(await server.psql("SELECT count(*) FROM pg_database WHERE datname = 'shop_db'")).toBe('1');
    expect(await server.psql("SELECT count(*) FROM t", 'shop_db')).toBe('2');
  });

  it('works with a non-superuser admin that has CREATEROLE and CREATEDB (as on RDS)', async () => {
    await server.psql("CREATE ROLE rds_admin LOGIN CREATEROLE CREATEDB PASSWORD 'rds-admin-password'");
    await registerCluster('pg2', { user: 'rds_admin', password: 'rds-admin-password' });
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'blog-one', client: { database: 'blog', user: 'blog' }, destination: { clusterId: 'pg2', database: 'blog_db', user: 'blog_owner' }, provision: true },
    });
    expect(res.status).toBe(201);
    expect(await canConnect(server, 'blog_owner', field<string>(res.body, 'password'), 'blog_db')).toBe('blog_owner@blog_db');
    expect(await server.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'blog_db'")).toBe('blog_owner');
  });

  it('quotes identifiers: names with capitals, spaces and quotes work', async () => {
    await registerCluster('pg3', { user: 'postgres', password: server.superuserPassword });
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'odd-names', client: { database: 'odd', user: 'odd' }, destination: { clusterId: 'pg3', database: 'My "DB"; drop', user: 'Odd User' }, provision: true },
    });
    expect(res.status).toBe(201);
    expect(await canConnect(server, 'Odd User', field<string>(res.body, 'password'), 'My "DB"; drop')).toBe('Odd User@My "DB"; drop');
  });

  it('refuses to take over an existing role it did not create (409 ROLE_TAKEN) and does not keep the tenant', async () => {
    await registerCluster('pg4', { user: 'postgres', password: server.superuserPassword });
    await server.psql("CREATE ROLE someone_else LOGIN PASSWORD 'their-password'");
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'hijack', client: { database: 'h', user: 'h' }, destination: { clusterId: 'pg4', database: 'h_db', user: 'someone_else' }, provision: true },
    });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('ROLE_TAKEN');
    expect(await t.deps.adapters.tenants.get('hijack')).toBeUndefined();
    // Their password still works: nothing was changed.
    expect(await canConnect(server, 'someone_else', 'their-password', 'postgres', false)).toBe('someone_else@postgres');
    // And the superuser is never touched either.
    const su = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'hijack-su', client: { database: 'h2', user: 'h2' }, destination: { clusterId: 'pg4', database: 'h2_db', user: 'postgres' }, provision: true },
    });
    expect(su.status).toBe(409);
    expect(await canConnect(server, 'postgres', server.superuserPassword, 'postgres', false)).toBe('postgres@postgres');
  });
});
