// GET /tenants (paginated) and GET /tenants/{id}: every tenant reachable through the cursor, and no
// response ever contains a verifier, a ciphertext or a password.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeGet } from '../functions/api/tenants-get.ts';
import { makeHandler as makeList } from '../functions/api/tenants-list.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

describe('GET /tenants and GET /tenants/{id}', () => {
  let t: LocalTestDeps;
  const secrets: string[] = [];
  beforeEach(async () => {
    t = await localTestDeps();
    for (let i = 0; i < 7; i++) {
      const res = await invoke(makeCreate(t.deps), {
        method: 'POST',
        path: '/tenants',
        body: { tenantId: `tenant-${i}`, client: { database: `db${i}`, user: 'app', md5: true }, destination: { host: 'db', database: `db${i}`, user: 'u', password: `destination-password-${i}` } },
      });
      expect(res.status).toBe(201);
      secrets.push(field<string>(res.body, 'password'), `destination-password-${i}`);
    }
  });
  afterEach(async () => {
    await t.cleanup();
  });

  function assertNoSecrets(raw: string | undefined, stored: string[]): void {
    expect(raw).toBeDefined();
    for (const s of [...secrets, ...stored]) expect(raw).not.toContain(s);
    expect(raw).not.toMatch(/SCRAM-SHA-256|md5[0-9a-f]{32}|passwordCiphertext|clientAuth/);
  }

  it('pages through every tenant with limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    const stored = (await t.deps.adapters.tenants.list({ limit: 1000 })).items.flatMap((x) => [x.clientAuth.scram, x.destination.passwordCiphertext]);
    do {
      const res = await invoke(makeList(t.deps), { method: 'GET', path: '/tenants', query: { limit: '3', ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      assertNoSecrets(res.rawBody, stored);
      const items = field<unknown[]>(res.body, 'items');
      expect(items.length).toBeLessThanOrEqual(3);
      seen.push(...items.map((i) => field<string>(i, 'tenantId')));
      cursor = (res.body as { cursor?: string }).cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `tenant-${i}`));
    expect(pages).toBe(3);
  });

  it('gets one tenant with its ETag and nothing secret', async () => {
    const res = await invoke(makeGet(t.deps), { method: 'GET', path: '/tenants/tenant-3', pathParameters: { id: 'tenant-3' } });
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"1"');
    expect(field(res.body, 'client')).toEqual({ database: 'db3', user: 'app' });
    expect(field(res.body, 'auth')).toEqual({ md5: true });
    const stored = await t.deps.adapters.tenants.get('tenant-3');
    assertNoSecrets(res.rawBody, [stored?.clientAuth.scram ?? '', stored?.clientAuth.md5 ?? '', stored?.destination.passwordCiphertext ?? '']);
  });
});
