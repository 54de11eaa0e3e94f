// DELETE /tenants/{id}: without purge the tenant leaves routing and the store but its data stays;
// with ?purge=true its database (or schema) and role are dropped too — never another tenant's.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { makeHandler as makeDeleteTenant } from '../functions/api/tenants-delete.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';
import { registerStaticCluster } from './helpers/provisioning.ts';

describe('DELETE /tenants/{id} with and without purge', () => {
  let server: PostgresServer;
  let t: LocalTestDeps;
  beforeAll(async () => {
    server = await startPostgres();
    t = await localTestDeps();
    await registerStaticCluster(t.deps, 'pg', server);
  });
  afterAll(async () => {
    await t.cleanup();
    await server.stop();
  });

  async function create(id: string, destination: Record<string, string>): Promise<string> {
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: id, client: { database: id, user: id }, destination: { clusterId: 'pg', ...destination }, provision: true },
    });
    expect(res.status).toBe(201);
    return field<string>(res.body, 'password');
  }
  const del = (id: string, query?: Record<string, string>) =>
    invoke(makeDeleteTenant(t.deps), { method: 'DELETE', path: `/tenants/${id}`, pathParameters: { id }, ...(query ? { query } : {}) });
  const count = (sql: string, db = 'postgres') => server.psql(sql, db);

  it('without purge: removes the tenant and keeps its database and role', async () => {
    await create('keep-data', { database: 'keep_db', user: 'keep_role' });
    const before = await t.deps.adapters.config.getConfigVersion();
    const res = await del('keep-data');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenantId: 'keep-data', deleted: true, purged: null });
    expect(await t.deps.adapters.tenants.get('keep-data')).toBeUndefined();
    expect(await t.deps.adapters.config.getConfigVersion()).toBeGreaterThan(before);
    expect(await count("SELECT count(*) FROM pg_database WHERE datname = 'keep_db'")).toBe('1');
    expect(await count("SELECT count(*) FROM pg_roles WHERE rolname = 'keep_role'")).toBe('1');
    expect((await del('keep-data')).status).toBe(404);
  });

  it('with purge=true: drops the database and the role, even with a session open', async () => {
    const password = await create('drop-data', { database: 'drop_db', user: 'drop_role' });
    await server.psql('CREATE TABLE x (id int)', 'drop_db');
    const open = new pg.Client({ host: server.host, port: server.port, user: 'drop_role', password, database: 'drop_db' });
    await open.connect();
    const closed = new Promise<void>((resolve) => open.on('error', () => resolve()));
    const res = await del('drop-data', { purge: 'true' });
    await closed;
    expect(res.status).toBe(200);
    expect(field(res.body, 'purged')).toEqual({ roleDropped: true, databaseDropped: true, schemaDropped: false });
    expect(await count("SELECT count(*) FROM pg_database WHERE datname = 'drop_db'")).toBe('0');
    expect(await count("SELECT count(*) FROM pg_roles WHERE rolname = 'drop_role'")).toBe('0');
  });

  it('with purge=true in schema mode: drops only that tenant schema, the neighbour survives', async () => {
    await create('sch-one', { database: 'shared_db', user: 'sch_one', schema: 'one' });
    await create('sch-two', { database: 'shared_db', user: 'sch_two', schema: 'two' });
    const res = await del('sch-one', { purge: 'true' });
    expect(res.status).toBe(200);
    expect(field(res.body, 'purged')).toEqual({ roleDropped: true, databaseDropped: false, schemaDropped: true });
    expect(await count("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('one', 'two')", 'shared_db')).toBe('two');
    expect(await count("SELECT count(*) FROM pg_roles WHERE rolname IN ('sch_one', 'sch_two')")).toBe('1');
  });

  it('refuses a stale If-Match with 409 and keeps the tenant', async () => {
    await create('locked', { database: 'locked_db', user: 'locked_role' });
    const res = await invoke(makeDeleteTenant(t.deps), { method: 'DELETE', path: '/tenants/locked', pathParameters: { id: 'locked' }, headers: { 'If-Match': '"7"' } });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('VERSION_CONFLICT');
    expect(await t.deps.adapters.tenants.get('locked')).toBeDefined();
  });
});
