// The read endpoint through the API (docs/read-endpoints.md): POST and PATCH
// /tenants take `readEndpoint: { enabled, maxReplicaLagMs }`; the view shows the database name its
// clients use (`<database>_ro`). A read login is one tenant's only: a tenant whose login is another
// tenant's read login, or whose read login is another tenant's login, is refused with 409
// LOGIN_TAKEN, in both orders, on create and on update; turning it off frees the name. A bad lag
// bound or a read database name longer than PostgreSQL's 63 characters is 400 INVALID_REQUEST.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeDelete } from '../functions/api/tenants-delete.ts';
import { makeHandler as makeUpdate } from '../functions/api/tenants-update.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

describe('tenant read endpoint (API)', () => {
  let t: LocalTestDeps;
  beforeEach(async () => {
    t = await localTestDeps();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const create = (tenantId: string, database: string, extra: Record<string, unknown> = {}) =>
    invoke(makeCreate(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId, client: { database, user: 'app' }, destination: { host: 'db', database: 'd', user: 'u', password: 'destination-password' }, ...extra },
    });
  const patch = (tenantId: string, body: unknown) =>
    invoke(makeUpdate(t.deps), { method: 'PATCH', path: `/tenants/${tenantId}`, pathParameters: { id: tenantId }, body });
  const remove = (tenantId: string) => invoke(makeDelete(t.deps), { method: 'DELETE', path: `/tenants/${tenantId}`, pathParameters: { id: tenantId } });

  it('enables it on create and shows the read database name; PATCH changes the bound and turns it off', async () => {
    const res = await create('shop-prod', 'shop', { readEndpoint: { enabled: true, maxReplicaLagMs: 250 } });
    expect(res.status).toBe(201);
    expect(field(res.body, 'tenant', 'readEndpoint')).toEqual({ enabled: true, maxReplicaLagMs: 250, database: 'shop_ro' });
    expect((await t.deps.adapters.tenants.get('shop-prod'))?.readEndpoint).toEqual({ enabled: true, maxReplicaLagMs: 250 });

    const bound = await patch('shop-prod', { version: 1, readEndpoint: { maxReplicaLagMs: 2000 } });
    expect(bound.status).toBe(200);
    expect(field(bound.body, 'readEndpoint')).toEqual({ enabled: true, maxReplicaLagMs: 2000, database: 'shop_ro' });
    const off = await patch('shop-prod', { version: 2, readEndpoint: { enabled: false } });
    expect(field(off.body, 'readEndpoint')).toEqual({ enabled: false, maxReplicaLagMs: 2000, database: 'shop_ro' });

    // Default bound when only `enabled` is given to a tenant that never had one.
    expect((await create('blog-prod', 'blog')).status).toBe(201);
    const on = await patch('blog-prod', { version: 1, readEndpoint: { enabled: true } });
    expect(field(on.body, 'readEndpoint')).toEqual({ enabled: true, maxReplicaLagMs: 5000, database: 'blog_ro' });
  });

  it('refuses a login that is another tenant’s read login, and a read login that is another tenant’s login (409 LOGIN_TAKEN)', async () => {
    expect((await create('shop-prod', 'shop', { readEndpoint: { enabled: true } })).status).toBe(201);
    // (shop_ro, app) is shop-prod's read login.
    const taken = await create('squatter', 'shop_ro');
    expect(taken.status).toBe(409);
    expect(field(taken.body, 'error', 'code')).toBe('LOGIN_TAKEN');
    expect(await t.deps.adapters.tenants.get('squatter')).toBeUndefined();

    // The other order: (cart_ro, app) is a tenant's login; cart-prod may not take it as its read login.
    expect((await create('cart-ro-owner', 'cart_ro')).status).toBe(201);
    const onCreate = await create('cart-prod', 'cart', { readEndpoint: { enabled: true } });
    expect(onCreate.status).toBe(409);
    expect(field(onCreate.body, 'error', 'code')).toBe('LOGIN_TAKEN');
    expect((await create('cart-prod', 'cart')).status).toBe(201);
    const onUpdate = await patch('cart-prod', { version: 1, readEndpoint: { enabled: true } });
    expect(onUpdate.status).toBe(409);
    expect(field(onUpdate.body, 'error', 'code')).toBe('LOGIN_TAKEN');
    expect((await t.deps.adapters.tenants.get('cart-prod'))?.readEndpoint).toBeUndefined();

    // Freed by turning it off, and by deleting the tenant.
    expect((await patch('shop-prod', { version: 1, readEndpoint: { enabled: false } })).status).toBe(200);
    expect((await create('squatter', 'shop_ro')).status).toBe(201);
    expect((await remove('cart-ro-owner')).status).toBe(200);
    expect((await patch('cart-prod', { version: 1, readEndpoint: { enabled: true } })).status).toBe(200);
  });

  it('refuses a bad lag bound and a read database name PostgreSQL would truncate (400 INVALID_REQUEST)', async () => {
    for (const maxReplicaLagMs of [-1, 1.5, 3_600_001, '100', null]) {
      const res = await create('shop-prod', 'shop', { readEndpoint: { enabled: true, maxReplicaLagMs } });
      expect(res.status, JSON.stringify(maxReplicaLagMs)).toBe(400);
      expect(field(res.body, 'error', 'code')).toBe('INVALID_REQUEST');
      expect(JSON.stringify(field(res.body, 'error', 'details'))).toContain('readEndpoint.maxReplicaLagMs');
    }
    expect((await create('shop-prod', 'shop', { readEndpoint: { maxReplicaLagMs: 100 } })).status).toBe(400);
    expect((await create('shop-prod', 'shop', { readEndpoint: { enabled: true, extra: 1 } })).status).toBe(400);
    const long = 'x'.repeat(61);
    const tooLong = await create('long-prod', long, { readEndpoint: { enabled: true } });
    expect(tooLong.status).toBe(400);
    expect(field(tooLong.body, 'error', 'code')).toBe('INVALID_REQUEST');
    expect((await create('long-prod', long)).status).toBe(201);
    const onUpdate = await patch('long-prod', { version: 1, readEndpoint: { enabled: true } });
    expect(onUpdate.status).toBe(400);
    expect(field(onUpdate.body, 'error', 'code')).toBe('INVALID_REQUEST');

    expect((await create('shop-prod', 'shop')).status).toBe(201);
    for (const readEndpoint of [{ maxReplicaLagMs: -5 }, { maxReplicaLagMs: 3_600_001 }, {}, { enabled: 'yes' }]) {
      const res = await patch('shop-prod', { version: 1, readEndpoint });
      expect(res.status, JSON.stringify(readEndpoint)).toBe(400);
      expect(field(res.body, 'error', 'code')).toBe('INVALID_REQUEST');
    }
    expect((await t.deps.adapters.tenants.get('shop-prod'))?.version).toBe(1);
  });

  it('treats the read endpoint as part of an idempotent create: the same request replays, a different one is 409 ALREADY_EXISTS', async () => {
    const body = { readEndpoint: { enabled: true, maxReplicaLagMs: 250 } };
    expect((await create('shop-prod', 'shop', body)).status).toBe(201);
    const replay = await create('shop-prod', 'shop', body);
    expect(replay.status).toBe(200);
    expect(field(replay.body, 'tenant', 'readEndpoint')).toEqual({ enabled: true, maxReplicaLagMs: 250, database: 'shop_ro' });
    for (const other of [{}, { readEndpoint: { enabled: true, maxReplicaLagMs: 251 } }, { readEndpoint: { enabled: false, maxReplicaLagMs: 250 } }]) {
      const res = await create('shop-prod', 'shop', other);
      expect(res.status, JSON.stringify(other)).toBe(409);
      expect(field(res.body, 'error', 'code')).toBe('ALREADY_EXISTS');
    }
  });
});
