// Schema per tenant on a real PostgreSQL: two tenants share one database, each owns its schema,
// its role's search_path points there, and neither can read the other's tables.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';
import { registerStaticCluster } from './helpers/provisioning.ts';

describe('provisioning: schema per tenant', () => {
  let server: PostgresServer;
  let t: LocalTestDeps;
  beforeAll(async () => {
    server = await startPostgres();
    t = await localTestDeps();
    await registerStaticCluster(t.deps, 'shared', server);
  });
  afterAll(async () => {
    await t.cleanup();
    await server.stop();
  });

  async function createTenant(id: string): Promise<string> {
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: id, client: { database: 'saas', user: id }, destination: { clusterId: 'shared', database: 'saas_shared', user: `${id}_role`, schema: `${id}_schema` }, provision: true },
    });
    expect(res.status).toBe(201);
    return field<string>(res.body, 'password');
  }

  async function session(user: string, password: string): Promise<pg.Client> {
    const c = new pg.Client({ host: server.host, port: server.port, user, password, database: 'saas_shared' });
    await c.connect();
    return c;
  }

  it('gives each tenant its own schema in the shared database, isolated from the others', async () => {
    const pwA = await createTenant('alpha');
    const pwB = await createTenant('bravo');
    expect(await server.psql("SELECT nspname || ':' || pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ('alpha_schema', 'bravo_schema') ORDER BY 1", 'saas_shared')).toBe(
      'alpha_schema:alpha_role\nbravo_schema:bravo_role',
    );

    const a = await session('alpha_role', pwA);
    const b = await session('bravo_role', pwB);
    try {
      // Unqualified names land in the tenant's own schema (role-level search_path).
      await a.query('CREATE TABLE orders (id int)');
      await a.query('INSERT INTO orders VALUES (42)');
      expect((await a.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s).toBe('alpha_schema');
      expect(await server.psql('SELECT id FROM alpha_schema.orders', 'saas_shared')).toBe('42');
      await expect(b.query('SELECT * FROM alpha_schema.orders')).rejects.toThrow(/permission denied/);
      await expect(b.query('CREATE TABLE alpha_schema.intrude (x int)')).rejects.toThrow(/permission denied/);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('is safe to run twice', async () => {
    const pw = await createTenant('charlie');
    const again = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'charlie', client: { database: 'saas', user: 'charlie', password: pw }, destination: { clusterId: 'shared', database: 'saas_shared', user: 'charlie_role', schema: 'charlie_schema' }, provision: true },
    });
    expect(again.status).toBe(200);
    const c = await session('charlie_role', pw);
    await c.end();
    expect(await server.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'charlie_schema'", 'saas_shared')).toBe('1');
  });

  it('refuses a schema owned by someone else with 409 SCHEMA_TAKEN', async () => {
    await server.psql('CREATE SCHEMA taken_schema', 'saas_shared');
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'delta', client: { database: 'saas', user: 'delta' }, destination: { clusterId: 'shared', database: 'saas_shared', user: 'delta_role', schema: 'taken_schema' }, provision: true },
    });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('SCHEMA_TAKEN');
  });
});
