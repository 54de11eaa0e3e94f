import { describe, expect, it } from 'vitest';
import { CancelKeys, nodeOf } from './cancel-keys.ts';

describe('cancel keys', () => {
  it('encode the issuing node in the process id', () => {
    for (const node of [0, 1, 2, 513, 1023]) {
      const { processId, secretKey } = new CancelKeys(node).next(() => false);
      expect(nodeOf(processId)).toBe(node);
      expect(processId).toBeGreaterThan(0);
      expect(processId).toBeLessThanOrEqual(0x7fffffff);
      expect(Number.isInteger(secretKey) && secretKey >= -0x80000000 && secretKey <= 0x7fffffff).toBe(true);
    }
  });

  it('skips process ids still in use', () => {
    const keys = new CancelKeys(3);
    const first = keys.next(() => false).processId;
    const used = new Set([first + 1, first + 2]);
    const next = keys.next((p) => used.has(p)).processId;
    expect(next).toBe(first + 3);
  });

  it('rejects node ids out of range', () => {
    expect(() => new CancelKeys(1024)).toThrow(RangeError);
    expect(() => new CancelKeys(-1)).toThrow(RangeError);
  });

  // The secret is all that stops anyone who can reach a pooler from cancelling another tenant's
  // queries (the process ids are a counter): it must be the full 32 random bits of the protocol's
  // Int32, fresh for every key, as PostgreSQL's own (pg_strong_random) is.
  it('draws distinct keys and secrets that use all 32 bits, many times over', () => {
    const DRAWS = 50_000;
    const keys = new CancelKeys(5);
    const pids = new Set<number>();
    const secrets = new Set<number>();
    let negative = 0;
    const bitCounts = new Array<number>(32).fill(0);
    for (let i = 0; i < DRAWS; i++) {
      const k = keys.next(() => false);
      pids.add(k.processId);
      secrets.add(k.secretKey);
      if (k.secretKey < 0) negative++;
      for (let b = 0; b < 32; b++) if ((k.secretKey >>> b) & 1) bitCounts[b]!++;
    }
    expect(pids.size).toBe(DRAWS);
    // 50,000 draws of 32 random bits collide about 0.3 times on average; 6 or more has odds below 1e-6.
    expect(secrets.size).toBeGreaterThan(DRAWS - 6);
    // Every bit is set about half the time (the sign bit included): ±5 % is over 20 standard deviations.
    for (const n of bitCounts) expect(Math.abs(n / DRAWS - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(negative / DRAWS - 0.5)).toBeLessThan(0.05);
    // Another pooler process (same node id after a restart) draws other secrets.
    const again = new CancelKeys(5);
    const overlap = Array.from({ length: 1000 }, () => again.next(() => false).secretKey).filter((s) => secrets.has(s));
    expect(overlap.length).toBeLessThan(3);
  });
});

describe('cancel keys over many draws', () => {
  it('never repeat a process id among live clients, and their secrets do not repeat or follow a pattern', () => {
    const keys = new CancelKeys(7);
    const live = new Set<number>();
    const secrets = new Set<number>();
    const N = 100_000;
    let rising = 0;
    let previous = -1;
    let repeatedPid = 0;
    for (let i = 0; i < N; i++) {
      const k = keys.next((p) => live.has(p));
      if (live.has(k.processId)) repeatedPid++;
      live.add(k.processId);
      secrets.add(k.secretKey);
      if (k.secretKey > previous) rising++;
      previous = k.secretKey;
      // The id a CancelRequest names is only as good as the node it routes to.
      if (nodeOf(k.processId) !== 7) throw new Error(`key ${k.processId} names node ${nodeOf(k.processId)}`);
    }
    expect(repeatedPid).toBe(0);
    expect(live.size).toBe(N);
    // 31-bit random secrets: N²/2³² ≈ 2.3 repeats are expected among 100,000 draws; a clock or a
    // small generator would repeat far more (and a counter is caught below).
    expect(N - secrets.size).toBeLessThan(20);
    // Independent draws rise about half the time (a counter: always; a sorted pool: never).
    expect(rising / N).toBeGreaterThan(0.49);
    expect(rising / N).toBeLessThan(0.51);
  });
});
