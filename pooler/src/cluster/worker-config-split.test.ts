// Each worker's configuration: pool limits split so the machine keeps the configured totals, one
// node id per worker with the siblings as cancel peers behind the supervisor's relay, configured
// peers of other machines kept, no metrics endpoint of its own.
import { describe, expect, it } from 'vitest';
import { configSchema, type PoolerConfig } from '../config/schema.ts';
import { shareOf, workerConfig, workerNodeIds } from './worker-config.ts';

function config(extra: object = {}, pool: object = { size: 10, min_idle: 3, max_clients: 101 }): PoolerConfig {
  return configSchema.parse({
    listen: { host: '0.0.0.0', port: 0 },
    metrics: { port: 9127 },
    tenants: [{ id: 'acme', database: 'acme', user: 'app', verifiers: ['md5' + '0'.repeat(32)], target: { host: 'db', database: 'acme', user: 'owner' }, pool }],
    ...extra,
  });
}

const plan = (slot: number, count: number) => ({ slot, count, listenPort: 6543, relayPort: 40000 });

describe('shareOf', () => {
  it.each([
    [10, 3],
    [2, 4],
    [0, 2],
    [7, 1],
    [1000, 7],
  ])('the shares of %i over %i workers add up to it and differ by at most one', (value, count) => {
    const shares = Array.from({ length: count }, (_, i) => shareOf(value, i + 1, count));
    expect(shares.reduce((a, b) => a + b, 0)).toBe(value);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
  });
});

describe('workerConfig', () => {
  it('splits pool.size, min_idle and max_clients between the workers', () => {
    const pools = [1, 2, 3].map((slot) => workerConfig(config(), plan(slot, 3)).tenants[0]!.pool);
    expect(pools.map((p) => p.size)).toEqual([4, 3, 3]);
    expect(pools.map((p) => p.min_idle)).toEqual([1, 1, 1]);
    expect(pools.map((p) => p.max_clients)).toEqual([34, 34, 33]);
    expect(pools.every((p) => p.mode === 'transaction')).toBe(true);
  });

  it('splits limits.max_client_conn and max_unauthenticated_per_address between the workers, at least one each', () => {
    const limits = [1, 2, 3].map((slot) => workerConfig(config({ limits: { max_client_conn: 10, max_unauthenticated_per_address: 2 } }), plan(slot, 3)).limits);
    expect(limits.map((l) => l.max_client_conn)).toEqual([4, 3, 3]);
    expect(limits.map((l) => l.max_unauthenticated_per_address)).toEqual([1, 1, 1]);
    expect(limits.every((l) => l.max_server_scram_iterations === 100_000)).toBe(true);
  });

  it('gives every worker at least one server connection and one client', () => {
    const pools = [1, 2, 3, 4].map((slot) => workerConfig(config({}, { size: 2, max_clients: 1 }), plan(slot, 4)).tenants[0]!.pool);
    expect(pools.map((p) => p.size)).toEqual([1, 1, 1, 1]);
    expect(pools.map((p) => p.max_clients)).toEqual([1, 1, 1, 1]);
  });

  it('makes each worker a node whose siblings are peers behind the relay', () => {
    const w2 = workerConfig(config(), plan(2, 3));
    expect(w2.cluster).toEqual({
      node_id: 2,
      peers: [
        { node_id: 1, host: '127.0.0.1', port: 40000 },
        { node_id: 3, host: '127.0.0.1', port: 40000 },
      ],
    });
  });

  it('numbers workers from the configured node id and keeps the other machines as peers', () => {
    const cluster = {
      node_id: 10,
      peers: [
        { node_id: 1, host: '10.0.0.1', port: 6432 },
        { node_id: 11, host: '10.0.0.9', port: 6432 },
      ],
    };
    const w1 = workerConfig(config({ cluster }), plan(1, 2));
    expect(w1.cluster).toEqual({
      node_id: 10,
      peers: [
        { node_id: 1, host: '10.0.0.1', port: 6432 },
        { node_id: 11, host: '127.0.0.1', port: 40000 },
      ],
    });
    expect(() => workerNodeIds(config({ cluster: { node_id: 1020, peers: [] } }), 8)).toThrow(/node ids up to 1027/);
  });

  it('listens on the machine port and leaves the metrics endpoint to the supervisor', () => {
    const w = workerConfig(config(), plan(1, 2));
    expect(w.listen).toEqual({ host: '0.0.0.0', port: 6543 });
    expect(w.metrics).toBeUndefined();
    expect(() => configSchema.parse(w)).not.toThrow();
  });
});
