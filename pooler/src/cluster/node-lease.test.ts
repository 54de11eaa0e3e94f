// Node id leases against the real file store (shared/src/local/file-store.ts, the same contract as
// DynamoDB's: shared/src/testing/store-contract.ts): unique ids for poolers starting at once, the
// reuse order after a pooler dies, renewal, a lease lost while the store was unreachable, release.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_NODE_ID, type NodeLease } from '../../../shared/src/domain/node-lease.ts';
import { createFileStores, type FileNodeLeaseStore } from '../../../shared/src/local/file-store.ts';
import { createLogger } from '../log.ts';
import { MAX_NODE_ID as KEY_MAX_NODE_ID } from '../frontend/cancel-keys.ts';
import { NodeIdLease, pickCandidates } from './node-lease.ts';

const root = mkdtempSync(join(tmpdir(), 'switchyard-node-lease-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let store: FileNodeLeaseStore;
beforeEach(async () => {
  store = (await createFileStores(join(root, `s${n++}`))).nodes;
});

const log = createLogger('silent');
const T0 = 1_700_000_000_000;
const address = { host: '10.0.0.1', port: 9128 };
const row = (nodeId: number, expiresAtMs: number, holder = 'other-holder-0000'): NodeLease => ({ nodeId, holder, poolerId: 'other', host: '10.0.0.9', port: 9128, expiresAtMs });

describe('leasing node ids', () => {
  it('covers exactly the ids cancel keys can carry (1..1023; 0 stays the lone pooler’s)', () => {
    expect(MAX_NODE_ID).toBe(KEY_MAX_NODE_ID);
  });

  it('gives poolers starting at the same moment distinct ids, each with its address', async () => {
    const leases = await Promise.all(
      Array.from({ length: 12 }, (_, i) => NodeIdLease.acquire({ store, count: i % 3 === 0 ? 3 : 1, poolerId: `p${i}`, address: { host: `10.0.0.${i}`, port: 9128 }, log })),
    );
    const ids = leases.flatMap((l) => l.ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(4 * 3 + 8);
    const rows = await store.list();
    expect(rows).toHaveLength(ids.length);
    for (const [i, l] of leases.entries()) {
      for (const id of l.ids) expect(rows.find((r) => r.nodeId === id)).toMatchObject({ host: `10.0.0.${i}`, poolerId: `p${i}` });
    }
  });

  it('never takes an id another pooler holds, and fails clearly (holding nothing) when none is free', async () => {
    // Every id but 700 held by live poolers (written at once: 1022 claims would be 1022 fsyncs).
    const dir = join(root, `full${n++}`);
    mkdirSync(dir, { recursive: true });
    const held = Array.from({ length: MAX_NODE_ID }, (_, i) => row(i + 1, Date.now() + 60_000)).filter((r) => r.nodeId !== 700);
    writeFileSync(join(dir, 'node-leases.json'), JSON.stringify(Object.fromEntries(held.map((r) => [String(r.nodeId), r]))));
    store = (await createFileStores(dir)).nodes;
    const one = await NodeIdLease.acquire({ store, count: 1, poolerId: 'p', address, log });
    expect(one.ids).toEqual([700]);
    const before = await store.list();
    await expect(NodeIdLease.acquire({ store, count: 1, poolerId: 'q', address, log })).rejects.toThrow(/cannot lease 1 cancel-key node id\(s\): ids 1\.\.1023 are held by live poolers/);
    expect(await store.list()).toEqual(before);
  });

  it('takes ids never leased first, then the ones expired longest ago (a dead pooler’s id comes back last)', () => {
    const leases = [row(1, T0 - 10), row(2, T0 - 5_000), row(3, T0 + 60_000), row(4, T0 - 1)];
    // Ids 5..1023 were never leased: one of them first.
    const first = pickCandidates(leases, T0, new Set(), 1);
    expect(first).toHaveLength(1);
    expect(first[0]).toBeGreaterThanOrEqual(5);
    // With every id leased once: the one expired longest ago, then the next; never the live one.
    const all = Array.from({ length: MAX_NODE_ID }, (_, i) => row(i + 1, T0 + 60_000));
    all[0] = row(1, T0 - 10);
    all[1] = row(2, T0 - 5_000);
    all[3] = row(4, T0 - 1);
    expect(pickCandidates(all, T0, new Set(), 1)).toEqual([2]);
    expect(pickCandidates(all, T0, new Set(), 64).sort()).toEqual([1, 2, 4]);
    expect(pickCandidates(all, T0, new Set([2]), 64).sort()).toEqual([1, 4]);
  });

  it('spreads concurrent claimants over the candidates instead of queueing them on one id', () => {
    const firsts = new Set(Array.from({ length: 50 }, () => pickCandidates([], T0, new Set(), 64)[0]));
    expect(firsts.size).toBeGreaterThan(10);
  });
});

describe('keeping and giving back a lease', () => {
  it('renews before it expires, so nobody else can take the id', async () => {
    let now = T0;
    const lease = await NodeIdLease.acquire({ store, count: 1, poolerId: 'p', address, log, ttlMs: 60_000, now: () => now });
    const id = lease.ids[0]!;
    now += 50_000;
    await lease.renew();
    now += 50_000; // 100 s after the start: the first lease would have expired.
    expect(await store.claim(row(id, now + 60_000), now)).toBe(false);
    expect((await store.list()).find((r) => r.nodeId === id)?.expiresAtMs).toBe(T0 + 110_000);
  });

  it('notices a lease taken while the store was unreachable, and claims it back once it is free', async () => {
    let now = T0;
    const lease = await NodeIdLease.acquire({ store, count: 1, poolerId: 'p', address, log, ttlMs: 60_000, now: () => now });
    const id = lease.ids[0]!;
    now += 61_000;
    expect(await store.claim(row(id, now + 60_000), now)).toBe(true);
    await lease.renew();
    expect([...lease.lost]).toEqual([id]);
    await store.release(id, 'other-holder-0000');
    await lease.renew();
    expect(lease.lost.size).toBe(0);
    expect((await store.list()).find((r) => r.nodeId === id)).toMatchObject({ host: '10.0.0.1', expiresAtMs: now + 60_000 });
  });

  it('releases at shutdown: the id is free at once, and a lost id is left to its new holder', async () => {
    const a = await NodeIdLease.acquire({ store, count: 2, poolerId: 'p', address, log });
    const [kept, lost] = a.ids as [number, number];
    a.lost.add(lost);
    await a.release();
    const rows = await store.list();
    expect(rows.find((r) => r.nodeId === kept)?.expiresAtMs).toBe(0);
    expect(rows.find((r) => r.nodeId === lost)?.expiresAtMs).toBeGreaterThan(Date.now());
  });
});

describe('a store that does not answer', () => {
  const bound = <T>(p: Promise<T>): Promise<T | 'hung'> => Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);

  it('gives up a renewal after the call deadline, so the next renewal runs (a hung call must not stop renewing for good)', async () => {
    let now = T0;
    let hang = false;
    let claims = 0;
    const hanging = {
      list: () => store.list(),
      release: (id: number, holder: string) => (hang ? new Promise<void>(() => undefined) : store.release(id, holder)),
      claim: (l: NodeLease, at: number) => {
        claims++;
        return hang ? new Promise<boolean>(() => undefined) : store.claim(l, at);
      },
    };
    const lease = await NodeIdLease.acquire({ store: hanging, count: 1, poolerId: 'p', address, log, ttlMs: 60_000, now: () => now, callTimeoutMs: 3_000 });
    const id = lease.ids[0]!;
    hang = true;
    expect(await bound(lease.renew())).toBeUndefined();
    hang = false;
    now += 20_000;
    const before = claims;
    expect(await bound(lease.renew())).toBeUndefined();
    expect(claims).toBe(before + 1);
    expect((await store.list()).find((r) => r.nodeId === id)?.expiresAtMs).toBe(now + 60_000);
    // Shutdown does not hang on a store that stopped answering either.
    hang = true;
    expect(await bound(lease.release())).toBeUndefined();
  });
});
