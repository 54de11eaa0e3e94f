// A create whose provisioning fails half-way answers 502, keeps no tenant, and the retried request
// creates the tenant and finishes provisioning on top of what the failed attempt left behind.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { createPgConnect, type PgConnect } from '../functions/lib/pg-target.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';
import { registerStaticCluster } from './helpers/provisioning.ts';

describe('provisioning: retry after a failure', () => {
  let server: PostgresServer;
  let t: LocalTestDeps;
  let failOn: RegExp | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    const real = createPgConnect({ ssl: 'disable' });
    // Fails the first statement matching `failOn` with a server-like error (SQLSTATE 57P01
    // admin_shutdown), as if the writer went away mid-provisioning.
    const flaky: PgConnect = async (target) => {
      const s = await real(target);
      return {
        query: async (text: string, values?: unknown[]) => {
          if (failOn?.test(text)) {
            failOn = undefined;
            throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          }
          return s.query(text, values);
        },
        end: () => s.end(),
      } as Awaited<ReturnType<PgConnect>>;
    };
    t = await localTestDeps({ pg: flaky });
    await registerStaticCluster(t.deps, 'pg', server);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('answers 502 PROVISIONING_FAILED without keeping the tenant, and the retry succeeds', async () => {
    const body = { tenantId: 'retry-me', client: { database: 'r', user: 'r' }, destination: { clusterId: 'pg', database: 'retry_db', user: 'retry_role' }, provision: true };
    failOn = /^CREATE DATABASE/;
    const first = await invoke(makeCreateTenant(t.deps), { method: 'POST', path: '/tenants', body });
    expect(first.status).toBe(502);
    expect(field(first.body, 'error', 'code')).toBe('PROVISIONING_FAILED');
    expect(field<string>(first.body, 'error', 'message')).toContain('57P01');
    expect(await t.deps.adapters.tenants.get('retry-me')).toBeUndefined();
    // The failed attempt left its role behind, but no database.
    expect(await server.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'retry_role'")).toBe('1');
    expect(await server.psql("SELECT count(*) FROM pg_database WHERE datname = 'retry_db'")).toBe('0');

    const second = await invoke(makeCreateTenant(t.deps), { method: 'POST', path: '/tenants', body });
    expect(second.status).toBe(201);
    const c = new pg.Client({ host: server.host, port: server.port, user: 'retry_role', password: field<string>(second.body, 'password'), database: 'retry_db' });
    await c.connect();
    await c.end();
  });
});
