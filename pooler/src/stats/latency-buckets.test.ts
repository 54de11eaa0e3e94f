// The latency histograms' buckets (stats/latency.ts): an observation lands in the first bucket whose
// bound it does not exceed (Prometheus `le`), the cumulative counts end at the total, and a
// negative or NaN time (impossible with the monotonic clock) counts as 0 rather than corrupting them.
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS, LatencyHistogram } from './latency.ts';

describe('LatencyHistogram', () => {
  it('puts each observation in its le bucket and sums milliseconds', () => {
    const h = new LatencyHistogram();
    h.observe(0.05); // 50 µs → le 0.0001
    h.observe(0.1); // exactly 0.1 ms → le 0.0001 (le is inclusive)
    h.observe(3); // 3 ms → le 0.005
    h.observe(60_000); // 60 s → +Inf
    const c = h.cumulative();
    expect(c.length).toBe(LATENCY_BUCKETS.length + 1);
    expect(c[0]).toBe(2);
    expect(c[LATENCY_BUCKETS.indexOf(0.0025)]).toBe(2);
    expect(c[LATENCY_BUCKETS.indexOf(0.005)]).toBe(3);
    expect(c[LATENCY_BUCKETS.length - 1]).toBe(3);
    expect(c[LATENCY_BUCKETS.length]).toBe(4);
    expect(h.count).toBe(4);
    expect(h.sumMs).toBeCloseTo(60_003.15, 6);
  });

  it('counts a negative or NaN time as 0', () => {
    const h = new LatencyHistogram();
    h.observe(-5);
    h.observe(Number.NaN);
    expect(h.cumulative()[0]).toBe(2);
    expect(h.sumMs).toBe(0);
  });
});
