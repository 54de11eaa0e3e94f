// mergeStatements (GET /tenants/{id}/statements): identical texts summed over poolers, the mean
// recomputed from the sums (not averaged), the longest call kept, most total time first, at most
// `limit`; the window from the earliest pooler start to the latest heartbeat; other tenants ignored.
import { describe, expect, it } from 'vitest';
import { poolerHeartbeatSchema, type PoolerHeartbeat } from '../../shared/src/domain/heartbeat.ts';
import { mergeStatements, STATEMENTS_LIMIT } from './tenant-statements.ts';

const hb = (poolerId: string, statsSince: string | undefined, lastSeen: string, statements: PoolerHeartbeat['statements']): PoolerHeartbeat =>
  poolerHeartbeatSchema.parse({ poolerId, appliedConfigVersion: 1, lastSeen, ...(statsSince ? { statsSince } : {}), statements });

describe('mergeStatements', () => {
  it('sums calls and time per identical text, recomputes the mean, keeps the max, sorts by total time', () => {
    const out = mergeStatements('acme', [
      hb('p1', '2030-01-01T00:00:00.000Z', '2030-01-01T01:00:00.000Z', {
        acme: [
          { text: 'SELECT a', calls: 1, totalMs: 100, maxMs: 100 },
          { text: 'SELECT b', calls: 10, totalMs: 50, maxMs: 9 },
        ],
        other: [{ text: 'SELECT secret_of_other', calls: 1, totalMs: 1e9, maxMs: 1e9 }],
      }),
      hb('p2', '2030-01-01T00:30:00.000Z', '2030-01-01T01:00:10.000Z', { acme: [{ text: 'SELECT b', calls: 90, totalMs: 90, maxMs: 20 }] }),
      hb('p3', undefined, '2030-01-01T01:00:05.000Z', { other: [{ text: 'SELECT x', calls: 1, totalMs: 1, maxMs: 1 }] }),
    ]);
    expect(out).toEqual({
      tenantId: 'acme',
      poolers: 2,
      window: { since: '2030-01-01T00:00:00.000Z', until: '2030-01-01T01:00:10.000Z' },
      statements: [
        // 140 ms over 100 calls: 1.4 ms, not the mean of the poolers' means (5 and 1).
        { text: 'SELECT b', calls: 100, totalMs: 140, meanMs: 1.4, maxMs: 20, poolers: 2 },
        { text: 'SELECT a', calls: 1, totalMs: 100, meanMs: 100, maxMs: 100, poolers: 1 },
      ],
    });
  });

  it('returns the top `limit` over poolers whose own lists differ', () => {
    const mk = (from: number) => Array.from({ length: 10 }, (_, k) => ({ text: `SELECT c${from + k}`, calls: 1, totalMs: from + k, maxMs: from + k }));
    const out = mergeStatements('acme', [hb('p1', undefined, '2030-01-01T00:00:00.000Z', { acme: mk(0) }), hb('p2', undefined, '2030-01-01T00:00:00.000Z', { acme: mk(5) })]);
    expect(out.statements).toHaveLength(STATEMENTS_LIMIT);
    // c5..c9 are on both: 2×(5..9); c10..c14 on p2 only.
    expect(out.statements.map((s) => [s.text, s.totalMs])).toEqual([
      // Ties in text order.
      ['SELECT c9', 18], ['SELECT c8', 16], ['SELECT c14', 14], ['SELECT c7', 14], ['SELECT c13', 13],
      ['SELECT c12', 12], ['SELECT c6', 12], ['SELECT c11', 11], ['SELECT c10', 10], ['SELECT c5', 10],
    ]);
  });

  it('no pooler reported the tenant: no window, no statements (the statsSince of a pooler without it does not count)', () => {
    expect(mergeStatements('acme', [hb('p1', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z', { other: [{ text: 'SELECT 1', calls: 1, totalMs: 1, maxMs: 1 }] })])).toEqual({
      tenantId: 'acme',
      poolers: 0,
      statements: [],
    });
  });

  it('a tenant id that is an Object prototype key reads nothing inherited', () => {
    expect(mergeStatements('constructor', [hb('p1', undefined, '2030-01-01T00:00:00.000Z', {})]).statements).toEqual([]);
  });
});

describe('the heartbeat schema bounds statements', () => {
  const shape = { text: 'SELECT 1', calls: 1, totalMs: 1, maxMs: 1 };
  it('refuses more than 10 shapes per tenant, more than 200 in all, and texts over 500 bytes', () => {
    const base = { poolerId: 'p1', appliedConfigVersion: 1, lastSeen: '2030-01-01T00:00:00.000Z' };
    expect(poolerHeartbeatSchema.safeParse({ ...base, statements: { acme: Array(10).fill(shape) } }).success).toBe(true);
    expect(poolerHeartbeatSchema.safeParse({ ...base, statements: { acme: Array(11).fill(shape) } }).success).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`tenant-${i}`, Array(10).fill(shape)]));
    expect(poolerHeartbeatSchema.safeParse({ ...base, statements: many }).success).toBe(false);
    expect(poolerHeartbeatSchema.safeParse({ ...base, statements: { acme: [{ ...shape, text: 'é'.repeat(251) }] } }).success).toBe(false);
    expect(poolerHeartbeatSchema.safeParse({ ...base, statements: { acme: [{ ...shape, text: 'é'.repeat(250) }] } }).success).toBe(true);
  });

  it('reads a heartbeat written before statements existed', () => {
    expect(poolerHeartbeatSchema.parse({ poolerId: 'p1', appliedConfigVersion: 1, lastSeen: '2030-01-01T00:00:00.000Z', pools: {} }).statements).toEqual({});
  });
});
