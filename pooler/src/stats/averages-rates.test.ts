// SHOW STATS' avg_* columns: per-second rates between the last two samples of the stats period,
// never negative (a tenant removed and re-added starts again from zero), empty before two samples;
// the time columns are mean durations over the period.
import { describe, expect, it } from 'vitest';
import { StatsPeriod } from './averages.ts';
import { emptyTotals, type TenantTotals } from './totals.ts';

function totals(entries: Record<string, Partial<TenantTotals>>): Map<string, TenantTotals> {
  return new Map(Object.entries(entries).map(([id, t]) => [id, { ...emptyTotals(), ...t }]));
}

describe('StatsPeriod', () => {
  it('reports nothing before the second sample', () => {
    const p = new StatsPeriod(() => totals({ a: { transactions: 10 } }));
    p.sample(0);
    expect(p.averages().size).toBe(0);
  });

  it('reports per-second rates over the last period', () => {
    let current = totals({ a: { transactions: 100, queries: 150, bytesIn: 1000, bytesOut: 5000, waitUs: 0, xactUs: 1_000_000, queryUs: 90_000 } });
    const p = new StatsPeriod(() => current);
    p.sample(0);
    current = totals({ a: { transactions: 700, queries: 1350, bytesIn: 7000, bytesOut: 65_000, waitUs: 600_000, xactUs: 1_300_000, queryUs: 330_000 } });
    p.sample(60_000);
    // Times are PgBouncer's avg_xact_time / avg_query_time: µs per transaction / query in the period.
    expect(p.averages().get('a')).toEqual({ transactions: 10, queries: 20, bytesIn: 100, bytesOut: 1000, waitUs: 10_000, xactUs: 500, queryUs: 200 });
    // The next period only looks at its own window.
    p.sample(120_000);
    expect(p.averages().get('a')).toEqual(emptyTotals());
  });

  it('never reports a negative rate and starts new tenants from zero', () => {
    let current = totals({ a: { transactions: 500 } });
    const p = new StatsPeriod(() => current);
    p.sample(0);
    current = totals({ a: { transactions: 20 }, b: { transactions: 60 } });
    p.sample(60_000);
    expect(p.averages().get('a')?.transactions).toBe(0);
    expect(p.averages().get('b')?.transactions).toBe(1);
  });
});
