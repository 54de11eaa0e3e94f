import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../domain/errors.ts';
import { exampleNewTenant } from '../testing/examples.ts';
import { createFileStores, IDEMPOTENCY_TTL_MS } from './file-store.ts';

describe('file store persistence', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-file-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps state across store instances (a restart) in an owner-only file, leaving no temp or lock files', async () => {
    const a = await createFileStores(dir);
    const t = await a.tenants.create(exampleNewTenant());
    const b = await createFileStores(dir);
    expect(await b.tenants.get(t.tenantId)).toEqual(t);
    expect(readdirSync(dir).sort()).toEqual(['store.json']);
    expect(statSync(join(dir, 'store.json')).mode & 0o777).toBe(0o600);
  });

  it('reports a corrupt state file as ValidationError instead of treating it as empty', async () => {
    writeFileSync(join(dir, 'store.json'), JSON.stringify({ tenants: { x: { tenantId: 'x' } } }));
    const s = await createFileStores(dir);
    await expect(s.tenants.get('x')).rejects.toBeInstanceOf(ValidationError);
  });

  it('forgets idempotency keys after their time to live', async () => {
    let now = new Date('2025-01-01T00:00:00.000Z');
    const s = await createFileStores(dir, { now: () => now });
    await s.tenants.create(exampleNewTenant(), { idempotencyKey: 'k' });
    now = new Date(now.getTime() + IDEMPOTENCY_TTL_MS + 1);
    // The key has expired, so the retry is an ordinary (conflicting) create.
    await expect(s.tenants.create(exampleNewTenant(), { idempotencyKey: 'k' })).rejects.toMatchObject({ reason: 'exists' });
  });

  it('serializes concurrent writers from separate store instances (no lost update)', async () => {
    const a = await createFileStores(dir);
    const b = await createFileStores(dir);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).tenants.create(exampleNewTenant({ tenantId: `tenant-${i}`, client: { database: 'db', user: `u${i}` } })),
      ),
    );
    expect((await a.tenants.list()).items).toHaveLength(10);
  });
});
