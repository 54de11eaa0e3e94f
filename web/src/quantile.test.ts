// Window percentiles from two histogram samples (what the tenant page draws).
import { describe, expect, it } from 'vitest';
import { windowQuantile } from './quantile.ts';

const at = (checkouts: number, count: number, b: [number, number][]) => ({ checkouts, count, buckets: b.map(([le, c]) => ({ le, count: c })) });

describe('windowQuantile', () => {
  it('counts checkouts that did not queue as zero waits', () => {
    // 100 checkouts in the window, 10 of them queued (all between 1 and 10 ms).
    const prev = at(0, 0, [[0.001, 0], [0.01, 0]]);
    const cur = at(100, 10, [[0.001, 0], [0.01, 10]]);
    expect(windowQuantile(prev, cur, 0.5)).toBe(0);
    expect(windowQuantile(prev, cur, 0.99)).toBeCloseTo(0.001 + 0.009 * 0.9, 6);
  });

  it('uses only the window: earlier observations do not count', () => {
    const prev = at(1000, 1000, [[0.001, 0], [0.01, 1000]]);
    const cur = at(1010, 1010, [[0.001, 10], [0.01, 1010]]);
    expect(windowQuantile(prev, cur, 0.99)).toBeLessThanOrEqual(0.001);
  });

  it('has no value without checkouts, and reports the largest bound past the last bucket', () => {
    expect(windowQuantile(at(5, 0, []), at(5, 0, []), 0.5)).toBeUndefined();
    expect(windowQuantile(at(0, 0, [[0.001, 0]]), at(2, 2, [[0.001, 0]]), 0.99)).toBe(0.001);
  });
});
