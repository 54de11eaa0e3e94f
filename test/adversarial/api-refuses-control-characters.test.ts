// The control API refuses a control character (Unicode Cc: U+0000–U+001F, U+007F–U+009F) or an
// unpaired surrogate in any string of a request: 400 INVALID_CHARACTER naming the field, never the
// value. Such names reach the pooler's configuration (client database/user: ("a\0b","c") and
// ("a","b\0c") would collide there, and every reload failed), PostgreSQL's start-up packet
// (destination database/user, a NUL there ends the value early) and SQL (schema, provisioning).
// The domain refuses them too on every write, whatever calls the store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../../functions/api/clusters-create.ts';
import { makeHandler as makeCreate } from '../../functions/api/tenants-create.ts';
import { makeHandler as makeRotate } from '../../functions/api/tenants-rotate-password.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../../functions/testing/test-deps.ts';
import { ValidationError } from '../../shared/src/domain/errors.ts';
import { exampleNewTenant } from '../../shared/src/testing/examples.ts';

let t: LocalTestDeps;
beforeEach(async () => {
  t = await localTestDeps();
});
afterEach(async () => {
  await t.cleanup();
});

type Body = Record<string, unknown>;
const tenantBody = (over: { client?: Body; destination?: Body; tenantId?: string } = {}): Body => ({
  tenantId: over.tenantId ?? 'ctl-tenant',
  client: { database: 'app', user: 'app_user', ...over.client },
  destination: { host: 'db.internal', database: 'app_db', user: 'app_owner', password: 'destination-password', ...over.destination },
});
const createTenant = (body: Body) => invoke(makeCreate(t.deps), { method: 'POST', path: '/tenants', body });

function expectRefused(res: { status: number; body: unknown; rawBody: string | undefined }, path: string): void {
  expect(res.status, res.rawBody).toBe(400);
  expect(field(res.body, 'error', 'code')).toBe('INVALID_CHARACTER');
  expect(field<{ path: string }[]>(res.body, 'error', 'details').map((d) => d.path)).toContain(path);
  // The refused value is not echoed back (nor its control characters).
  expect(res.rawBody).not.toMatch(/\\u00[01]|\\u007f|evil/i);
}

describe('the API refuses control characters in every string', () => {
  it('the colliding NUL pair ("a\\0b","c") / ("a","b\\0c"): both refused, nothing stored', async () => {
    expectRefused(await createTenant(tenantBody({ tenantId: 'nul-one', client: { database: 'a\0b', user: 'c' } })), 'client.database');
    expectRefused(await createTenant(tenantBody({ tenantId: 'nul-two', client: { database: 'a', user: 'b\0c' } })), 'client.user');
    expect((await t.deps.adapters.tenants.list({ limit: 10 })).items).toEqual([]);
  });

  it.each([
    ['NUL', '\0'],
    ['newline', '\n'],
    ['tab', '\t'],
    ['ESC', '\x1b'],
    ['DEL', '\x7f'],
    ['C1 NEL', '\u0085'],
    ['unpaired surrogate', '\ud800'],
  ])('%s in client, destination and password fields', async (_name, bad) => {
    const v = (s: string) => `evil${bad}${s}`;
    const cases: [Body, string][] = [
      [tenantBody({ client: { database: v('db') } }), 'client.database'],
      [tenantBody({ client: { user: v('u') } }), 'client.user'],
      [tenantBody({ client: { password: v('client-password') } }), 'client.password'],
      [tenantBody({ destination: { database: v('db') } }), 'destination.database'],
      [tenantBody({ destination: { user: v('u') } }), 'destination.user'],
      [tenantBody({ destination: { schema: v('s') } }), 'destination.schema'],
      [tenantBody({ destination: { host: v('h') } }), 'destination.host'],
      [tenantBody({ destination: { password: v('destination-password') } }), 'destination.password'],
    ];
    for (const [body, path] of cases) expectRefused(await createTenant(body), path);
    // An unknown key with a control character is refused the same way, without echoing the key.
    expectRefused(await createTenant({ ...tenantBody(), [v('k')]: 1 }), '(key)');
  });

  it('cluster fields: writer/reader hosts, admin user and password, RDS identifiers', async () => {
    const create = (body: Body) => invoke(makeCreateCluster(t.deps), { method: 'POST', path: '/clusters', body });
    const base = { clusterId: 'ctl-cluster', kind: 'static', writer: { host: 'db.internal', port: 5432 } };
    expectRefused(await create({ ...base, writer: { host: 'db\0evil', port: 5432 } }), 'writer.host');
    expectRefused(await create({ ...base, readers: [{ host: 'r\nevil', port: 5432 }] }), 'readers.0.host');
    expectRefused(await create({ ...base, admin: { user: 'adm\0evil', password: 'admin-password' } }), 'admin.user');
    expectRefused(await create({ ...base, admin: { user: 'adm', password: 'evil\0admin-password' } }), 'admin.password');
    expectRefused(
      await create({ clusterId: 'ctl-aurora', kind: 'aurora', writer: { host: 'w', port: 5432 }, rds: { clusterIdentifier: 'evil\x1bid' } }),
      'rds.clusterIdentifier',
    );
    expect(await t.deps.adapters.clusters.list()).toEqual([]);
  });

  it('rotate-password refuses a password with a control character', async () => {
    expect((await createTenant(tenantBody())).status).toBe(201);
    const res = await invoke(makeRotate(t.deps), { method: 'POST', path: '/tenants/ctl-tenant/rotate-password', pathParameters: { id: 'ctl-tenant' }, body: { password: 'evil\0-new-password' } });
    expectRefused(res, 'password');
  });

  it('printable names are still accepted: spaces, quotes, non-ASCII letters', async () => {
    const res = await createTenant(tenantBody({ client: { database: 'Ünïcode "db"', user: "o'brien app" }, destination: { schema: 'Schéma 1' } }));
    expect(res.status, res.rawBody).toBe(201);
  });

  it('the domain refuses them on every write, whatever calls the store', async () => {
    const err = await t.deps.adapters.tenants.create(exampleNewTenant({ client: { database: 'a\0b', user: 'c' } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toContain('client.database');
    const ok = await t.deps.adapters.tenants.create(exampleNewTenant());
    const patchErr = await t.deps.adapters.tenants.update(ok.tenantId, ok.version, { client: { database: 'a', user: 'b\0c' } }).catch((e: unknown) => e);
    expect(patchErr).toBeInstanceOf(ValidationError);
  });
});
