// PATCH /tenants/{id}: pool settings and suspend/resume under an optimistic lock (If-Match or body
// version); a stale version is 409, a missing one 428; each change bumps the config version.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeGet } from '../functions/api/tenants-get.ts';
import { makeHandler as makeUpdate } from '../functions/api/tenants-update.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

describe('PATCH /tenants/{id}', () => {
  let t: LocalTestDeps;
  beforeEach(async () => {
    t = await localTestDeps();
    const res = await invoke(makeCreate(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'acme-prod', client: { database: 'acme', user: 'app' }, destination: { host: 'db', database: 'acme', user: 'acme', password: 'destination-password' }, pool: { size: 10, queryTimeout: 30 } },
    });
    expect(res.status).toBe(201);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const patch = (body: unknown, headers: Record<string, string> = {}) =>
    invoke(makeUpdate(t.deps), { method: 'PATCH', path: '/tenants/acme-prod', pathParameters: { id: 'acme-prod' }, headers, body });

  it('merges pool settings with If-Match, returns the new version as ETag and bumps the config version', async () => {
    const get = await invoke(makeGet(t.deps), { method: 'GET', path: '/tenants/acme-prod', pathParameters: { id: 'acme-prod' } });
    expect(get.headers.etag).toBe('"1"');
    const before = await t.deps.adapters.config.getConfigVersion();
    const res = await patch({ pool: { size: 25, queryTimeout: null, mode: 'session' } }, { 'If-Match': get.headers.etag ?? '' });
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    const pool = field<Record<string, unknown>>(res.body, 'pool');
    expect(pool).toMatchObject({ size: 25, mode: 'session', maxClients: 1000 });
    expect(pool).not.toHaveProperty('queryTimeout');
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(before + 1);
  });

  it('sets pinning per tenant and turns it off with null (maxPinned, pinAdvisoryLocks, pinRole)', async () => {
    const on = await patch({ version: 1, pool: { maxPinned: 5, pinAdvisoryLocks: true } });
    expect(on.status).toBe(200);
    expect(field<Record<string, unknown>>(on.body, 'pool')).toMatchObject({ maxPinned: 5, pinAdvisoryLocks: true, size: 10 });
    const bad = await patch({ version: 2, pool: { maxPinned: 10001 } });
    expect(bad.status).toBe(400);
    const off = await patch({ version: 2, pool: { maxPinned: null, pinAdvisoryLocks: null } });
    expect(off.status).toBe(200);
    expect(field<Record<string, unknown>>(off.body, 'pool')).not.toHaveProperty('maxPinned');
  });

  it('suspends and resumes with the version in the body', async () => {
    const s = await patch({ version: 1, status: 'suspended' });
    expect(s.status).toBe(200);
    expect(field(s.body, 'status')).toBe('suspended');
    const r = await patch({ version: 2, status: 'active' });
    expect(field(r.body, 'status')).toBe('active');
  });

  it('refuses a stale version with 409 VERSION_CONFLICT and changes nothing', async () => {
    expect((await patch({ version: 1, status: 'suspended' })).status).toBe(200);
    const stale = await patch({ pool: { size: 99 } }, { 'If-Match': 'W/"1"' });
    expect(stale.status).toBe(409);
    expect(field(stale.body, 'error', 'code')).toBe('VERSION_CONFLICT');
    expect((await t.deps.adapters.tenants.get('acme-prod'))?.pool.size).toBe(10);
  });

  it('requires a version (428), refuses disagreeing versions, invalid settings and unknown fields (400)', async () => {
    const none = await patch({ status: 'suspended' });
    expect(none.status).toBe(428);
    expect(field(none.body, 'error', 'code')).toBe('PRECONDITION_REQUIRED');
    expect((await patch({ version: 2, status: 'suspended' }, { 'If-Match': '"1"' })).status).toBe(400);
    expect((await patch({ version: 1, pool: { minIdle: 50 } })).status).toBe(400);
    expect((await patch({ version: 1, status: 'deleting' })).status).toBe(400);
    expect((await patch({ version: 1, destination: { host: 'evil', clusterId: 'main' } })).status).toBe(400);
    expect((await patch({ version: 1 })).status).toBe(400);
  });
});
