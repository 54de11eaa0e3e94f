// The peer directory against the real file store: addresses from the lease rows, a bounded number
// of store reads however many cancels (for whatever node ids) arrive, and a store outage that
// keeps the last view.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { NodeLease } from '../../../shared/src/domain/node-lease.ts';
import { createFileStores, type FileNodeLeaseStore } from '../../../shared/src/local/file-store.ts';
import { createLogger } from '../log.ts';
import { PeerDirectory } from './peer-directory.ts';

const root = mkdtempSync(join(tmpdir(), 'switchyard-peer-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let store: FileNodeLeaseStore;
beforeEach(async () => {
  store = (await createFileStores(join(root, `s${n++}`))).nodes;
});

const log = createLogger('silent');
const T0 = 1_700_000_000_000;
const lease = (nodeId: number, host: string, expiresAtMs: number): NodeLease => ({ nodeId, holder: `holder-${nodeId}`.padEnd(16, '0'), poolerId: `p${nodeId}`, host, port: 9128, expiresAtMs });

describe('peer directory', () => {
  it('answers a node’s address from its lease; nothing for unknown nodes, our own, or leases long expired', async () => {
    await store.claim(lease(3, '10.0.0.3', T0 + 60_000), T0);
    await store.claim(lease(4, '10.0.0.4', T0 - 60_000), T0 - 120_000);
    await store.claim(lease(5, '10.0.0.5', T0 - 3_600_000), T0 - 4_000_000);
    await store.claim(lease(6, '10.0.0.6', T0 + 60_000), T0);
    const dir = new PeerDirectory({ store, log, own: [6], now: () => T0 });
    expect(await dir.peer(3)).toEqual({ host: '10.0.0.3', port: 9128 });
    // Expired a minute ago: its holder may only have missed renewals; still routed.
    expect(await dir.peer(4)).toEqual({ host: '10.0.0.4', port: 9128 });
    expect(await dir.peer(5)).toBeUndefined();
    expect(await dir.peer(6)).toBeUndefined();
    expect(await dir.peer(900)).toBeUndefined();
  });

  it('reads the store at most once per second, however many cancels for however many nodes arrive', async () => {
    await store.claim(lease(3, '10.0.0.3', T0 + 60_000), T0);
    let now = T0;
    const dir = new PeerDirectory({ store, log, own: [1], now: () => now });
    // A flood of cancels naming random nodes (what an attacker controls), all within one second.
    const answers = await Promise.all(Array.from({ length: 5000 }, (_, i) => dir.peer(1 + (i % 1023))));
    expect(answers.filter((a) => a !== undefined)).toHaveLength(answers.filter((_, i) => 1 + (i % 1023) === 3).length);
    expect(dir.reads).toBe(1);
    for (let i = 0; i < 1000; i++) await dir.peer(500);
    expect(dir.reads).toBe(1);
    now += 1000;
    await dir.peer(500);
    expect(dir.reads).toBe(2);
  });

  it('sees a new peer and a moved address within seconds, and keeps the last view when the store fails', async () => {
    await store.claim(lease(3, '10.0.0.3', T0 + 60_000), T0);
    let now = T0;
    let failing = false;
    const flaky = { list: () => (failing ? Promise.reject(new Error('store unreachable')) : store.list()) };
    const dir = new PeerDirectory({ store: flaky, log, own: [], now: () => now });
    expect(await dir.peer(3)).toEqual({ host: '10.0.0.3', port: 9128 });
    await store.claim(lease(7, '10.0.0.7', T0 + 60_000), T0);
    now += 1000;
    expect(await dir.peer(7)).toEqual({ host: '10.0.0.7', port: 9128 });
    // Node 3 restarted elsewhere (its old lease expired, a new holder claimed the id).
    now += 61_000;
    await store.claim({ ...lease(3, '10.0.0.33', now + 60_000), holder: 'new-holder-00000' }, now);
    expect(await dir.peer(3)).toEqual({ host: '10.0.0.33', port: 9128 });
    failing = true;
    now += 10_000;
    expect(await dir.peer(7)).toEqual({ host: '10.0.0.7', port: 9128 });
  });
});

describe('a store that does not answer', () => {
  it('answers a look-up within the call deadline, and reads again later instead of waiting on the hung read forever', async () => {
    await store.claim(lease(3, '10.0.0.3', T0 + 60_000), T0);
    let now = T0;
    let calls = 0;
    // The first Query never answers (a black-holed connection: the AWS SDK sets no request timeout).
    const hanging = { list: () => (++calls === 1 ? new Promise<NodeLease[]>(() => undefined) : store.list()) };
    const dir = new PeerDirectory({ store: hanging, log, own: [], now: () => now, callTimeoutMs: 3_000 });
    const bound = <T>(p: Promise<T>): Promise<T | 'hung'> => Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
    expect(await bound(dir.peer(3))).toBeUndefined();
    now += 1000;
    expect(await bound(dir.peer(3))).toEqual({ host: '10.0.0.3', port: 9128 });
    expect(calls).toBe(2);
  });
});
