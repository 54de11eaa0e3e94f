// The share arithmetic of the fleet budgets: whatever the figures, the parts never add up to more
// than the whole (every split checked exhaustively over a range), and stay as even as possible.
import { describe, expect, it } from 'vitest';
import { clusterBudgetOf, DEFAULT_MAX_CONNECTIONS, demandKey, memberShareOf, settled, shareOf, splitEvenly, type BudgetLease } from './budget.ts';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe('splitEvenly', () => {
  it('adds up to exactly the total for every total 0..200, member count 1..16 and offset', () => {
    for (let total = 0; total <= 200; total++) {
      for (let n = 1; n <= 16; n++) {
        for (let offset = 0; offset < n + 2; offset++) {
          const parts = splitEvenly(total, n, offset);
          expect(parts).toHaveLength(n);
          expect(sum(parts)).toBe(total);
          expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
          expect(Math.min(...parts)).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });

  it('gives nothing to nobody', () => {
    expect(splitEvenly(10, 0)).toEqual([]);
  });
});

describe('shareOf', () => {
  it('the members’ shares of a tenant add up to its allotment, and a rank outside the members gets 0', () => {
    for (const tenantId of ['acme', 'beta-prod', 'x-1', 'zeta']) {
      for (let allot = 0; allot <= 40; allot++) {
        for (let n = 1; n <= 9; n++) {
          const shares = Array.from({ length: n }, (_, r) => shareOf(allot, tenantId, r, n));
          expect(sum(shares)).toBe(allot);
          expect(shareOf(allot, tenantId, n, n)).toBe(0);
          expect(shareOf(allot, tenantId, -1, n)).toBe(0);
        }
      }
    }
  });

  it('spreads the remainders of different tenants over different members', () => {
    const firsts = new Set(['t-a', 't-b', 't-c', 't-d', 't-e', 't-f', 't-g', 't-h'].map((t) => [0, 1, 2].find((r) => shareOf(1, t, r, 3) === 1)));
    expect(firsts.size).toBeGreaterThan(1);
  });
});

describe('memberShareOf: idle members lend their shares to members that want more', () => {
  const key = demandKey('tenant', 'acme');
  type Demand = Pick<BudgetLease, 'want' | 'give'>;

  it('for every mix of lenders, borrowers and bystanders the shares add up to exactly the total', () => {
    const kinds: Demand[] = [{}, { want: [key] }, { give: [key] }, { want: ['t:other'], give: ['t:other'] }];
    for (let n = 1; n <= 5; n++) {
      for (let mix = 0; mix < kinds.length ** n; mix++) {
        const members = Array.from({ length: n }, (_, r) => kinds[Math.floor(mix / kinds.length ** r) % kinds.length]!);
        for (let total = 0; total <= 13; total++) {
          const shares = members.map((_, r) => memberShareOf(total, 'acme', key, members, r));
          expect(sum(shares), JSON.stringify({ members, total })).toBe(total);
          expect(Math.min(...shares)).toBeGreaterThanOrEqual(0);
          const lenders = members.flatMap((m, r) => (m.give?.includes(key) ? [r] : []));
          const borrowers = members.flatMap((m, r) => (!m.give?.includes(key) && m.want?.includes(key) ? [r] : []));
          if (lenders.length > 0 && borrowers.length > 0) for (const r of lenders) expect(shares[r]).toBe(0);
          else members.forEach((_, r) => expect(shares[r]).toBe(shareOf(total, 'acme', r, n)));
        }
      }
    }
  });

  it('a tenant of size 2 behind three poolers: the one with the clients gets both connections the others lend', () => {
    const members: Demand[] = [{ give: [key] }, { give: [key] }, { want: [key] }];
    expect(members.map((_, r) => memberShareOf(2, 'acme', key, members, r))).toEqual([0, 0, 2]);
    // Without lending one of them holds nothing at all.
    expect([0, 1, 2].map((r) => shareOf(2, 'acme', r, 3))).toContain(0);
  });

  it('no lender, or nobody who wants it: the even split', () => {
    const members: Demand[] = [{ want: [key] }, {}, { give: ['c:other'] }];
    expect(members.map((_, r) => memberShareOf(9, 'acme', key, members, r))).toEqual([0, 1, 2].map((r) => shareOf(9, 'acme', r, 3)));
  });
});

describe('clusterBudgetOf', () => {
  it('is max_connections minus 10 % (at least 5), unless set explicitly', () => {
    expect(clusterBudgetOf({})).toEqual({ maxConnections: DEFAULT_MAX_CONNECTIONS, reserved: 10, budget: 90, explicit: false });
    expect(clusterBudgetOf({ maxConnections: 20 })).toMatchObject({ reserved: 5, budget: 15 });
    expect(clusterBudgetOf({ maxConnections: 3 })).toMatchObject({ budget: 0 });
    expect(clusterBudgetOf({ maxConnections: 5000 })).toMatchObject({ reserved: 500, budget: 4500 });
    expect(clusterBudgetOf({ maxConnections: 100, connectionBudget: 40 })).toMatchObject({ budget: 40, explicit: true });
  });
});

describe('settled', () => {
  it('only when every member has the generation in effect', () => {
    const m = (ack: number) => ({ holder: 'h'.repeat(16), poolerId: 'p', expiresAtMs: 1, ack });
    expect(settled({ generation: 3, members: [m(3), m(3)] })).toBe(true);
    expect(settled({ generation: 3, members: [m(3), m(2)] })).toBe(false);
    expect(settled({ generation: 3, members: [] })).toBe(true);
  });
});
