import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scramKeys } from '../../../shared/src/auth/scram-crypto.ts';
import { DEFAULT_MAX_SERVER_SCRAM_ITERATIONS, ScramIterationsError, ScramKeyCache } from './scram-keys.ts';

const salt = (n: number): Buffer => Buffer.from(`salt-${n}`);

describe('ScramKeyCache', () => {
  it('derives the RFC 5802 keys (PBKDF2-HMAC-SHA-256 of the SASLprep’d password)', async () => {
    const keys = await new ScramKeyCache().derive('pässwörd', salt(1), 4096);
    expect(keys).toEqual(scramKeys(pbkdf2Sync('pässwörd'.normalize('NFKC'), salt(1), 4096, 32, 'sha256')));
  });

  it('refuses more iterations than the limit, before computing anything', async () => {
    const c = new ScramKeyCache();
    expect(c.maxIterations).toBe(DEFAULT_MAX_SERVER_SCRAM_ITERATIONS);
    const err = await c.derive('pw', salt(1), DEFAULT_MAX_SERVER_SCRAM_ITERATIONS + 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScramIterationsError);
    expect((err as Error).message).toBe('the server asks for 100001 SCRAM iterations; the pooler allows at most 100000 (limits.max_server_scram_iterations)');
    expect(c.misses).toBe(0);
    expect(c.refused).toBe(1);
    c.maxIterations = 200_000;
    await expect(c.derive('pw', salt(1), DEFAULT_MAX_SERVER_SCRAM_ITERATIONS + 1)).resolves.toBeDefined();
  });

  it('caches per (password, salt, iterations), and computes concurrent requests once', async () => {
    const c = new ScramKeyCache();
    const [a, b] = await Promise.all([c.derive('pw', salt(1), 1000), c.derive('pw', salt(1), 1000)]);
    expect(a).toBe(b);
    expect(c.misses).toBe(1);
    expect(await c.derive('pw', salt(1), 1000)).toBe(a);
    expect(c.hits).toBe(1);
    for (const other of [c.derive('pw2', salt(1), 1000), c.derive('pw', salt(2), 1000), c.derive('pw', salt(1), 1001)]) {
      expect(await other).not.toEqual(a);
    }
    expect(c.misses).toBe(4);
    expect(c.size).toBe(4);
  });

  it('is a bounded LRU', async () => {
    const c = new ScramKeyCache({ maxEntries: 2 });
    await c.derive('pw', salt(1), 10);
    await c.derive('pw', salt(2), 10);
    await c.derive('pw', salt(1), 10); // refreshes salt 1
    await c.derive('pw', salt(3), 10); // evicts salt 2
    expect(c.size).toBe(2);
    const misses = c.misses;
    await c.derive('pw', salt(1), 10);
    expect(c.misses).toBe(misses);
    await c.derive('pw', salt(2), 10);
    expect(c.misses).toBe(misses + 1);
  });

  it('keeps no password in its keys', async () => {
    const c = new ScramKeyCache();
    await c.derive('very-secret-password', salt(1), 10);
    const keys = [...(c as unknown as { entries: Map<string, unknown> }).entries.keys()];
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('very-secret-password');
    expect(keys[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('computes off the event loop', async () => {
    const c = new ScramKeyCache({ maxIterations: 10_000_000 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // Synchronously (pbkdf2Sync), no timer could fire until the end.
    await Promise.all([c.derive('pw', salt(1), 300_000), c.derive('pw', salt(2), 300_000)]);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('runs at most `concurrency` derivations at once; the others queue', async () => {
    const c = new ScramKeyCache({ concurrency: 2 });
    const inside = c as unknown as { running: number };
    const all = [1, 2, 3, 4, 5].map((n) => c.derive('pw', salt(n), 20_000));
    expect(inside.running).toBe(2);
    expect(c.queued).toBe(3);
    await Promise.all(all);
    expect(inside.running).toBe(0);
    expect(c.queued).toBe(0);
  });

  it('serves the owners of queued derivations in turn: one destination cannot hold back the others', async () => {
    // A tenant's own server can ask for a new salt at every login, and its pool opens many
    // connections at once: a first-come queue would make every other tenant's server login wait
    // for all of them.
    const c = new ScramKeyCache({ concurrency: 1 });
    const done: string[] = [];
    const hostile = [1, 2, 3, 4, 5, 6].map((n) => c.derive('pw', salt(n), 50_000, 'hostile').then(() => done.push(`hostile-${n}`)));
    const victim = c.derive('pw', salt(100), 4096, 'victim').then(() => done.push('victim'));
    await Promise.all([...hostile, victim]);
    // The hostile one that was running when the victim came, at most one more (the hostile
    // owner's turn came first), then the victim: not after all six (first come, first served).
    expect(done.indexOf('victim')).toBeLessThanOrEqual(2);
    expect(done.filter((d) => d.startsWith('hostile'))).toEqual([1, 2, 3, 4, 5, 6].map((n) => `hostile-${n}`));
  });
});
