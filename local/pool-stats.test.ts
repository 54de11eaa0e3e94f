// The pool-stats parser on a real exposition shape (docs/metrics.md): one tenant's figures only,
// labels matched exactly (a tenant whose id is a prefix of another's gets its own lines).
import { describe, expect, it } from 'vitest';
import { poolStatsFrom } from './pool-stats.ts';

const TEXT = `# HELP switchyard_pool_clients clients
# TYPE switchyard_pool_clients gauge
switchyard_pool_clients{tenant="acme",state="active"} 3
switchyard_pool_clients{tenant="acme",state="waiting"} 1
switchyard_pool_clients{tenant="acme-2",state="active"} 99
switchyard_pool_servers{tenant="acme",state="active"} 2
switchyard_pool_servers{tenant="acme",state="idle"} 0
switchyard_pool_servers{tenant="acme",state="connecting"} 0
switchyard_pool_size{tenant="acme"} 2
switchyard_pool_max_wait_seconds{tenant="acme"} 0.25
switchyard_transactions_total{tenant="acme"} 1234
switchyard_transactions_total{tenant="acme-2"} 5
switchyard_pool_checkouts_total{tenant="acme"} 1300
switchyard_pool_checkout_timeouts_total{tenant="acme"} 0
switchyard_pool_checkout_wait_seconds_bucket{le="0.001",tenant="acme"} 10
switchyard_pool_checkout_wait_seconds_bucket{le="0.01",tenant="acme"} 40
switchyard_pool_checkout_wait_seconds_bucket{le="+Inf",tenant="acme"} 50
switchyard_pool_checkout_wait_seconds_sum{tenant="acme"} 0.9
switchyard_pool_checkout_wait_seconds_count{tenant="acme"} 50
`;

describe('poolStatsFrom', () => {
  it("reads one tenant's gauges, counters and histogram", () => {
    const s = poolStatsFrom(TEXT, 'acme', new Date('2030-01-01T00:00:00.000Z'));
    expect(s).toEqual({
      tenantId: 'acme',
      at: '2030-01-01T00:00:00.000Z',
      clients: { active: 3, waiting: 1 },
      servers: { active: 2, idle: 0, connecting: 0 },
      poolSize: 2,
      maxWaitSeconds: 0.25,
      transactionsTotal: 1234,
      checkoutsTotal: 1300,
      checkoutTimeoutsTotal: 0,
      checkoutWait: { buckets: [{ le: 0.001, count: 10 }, { le: 0.01, count: 40 }], count: 50, sum: 0.9 },
    });
    expect(poolStatsFrom(TEXT, 'acme-2', new Date())?.clients.active).toBe(99);
  });

  it('answers undefined for a tenant the pooler does not report', () => {
    expect(poolStatsFrom(TEXT, 'acm', new Date())).toBeUndefined();
  });
});
