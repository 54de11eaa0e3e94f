// The configuration one worker of `--workers N` runs with, derived from the machine's
// configuration on every load (start and each reload, cluster/worker-source.ts):
//
// - Pool limits are the machine's: each worker gets an even share of pool.size, pool.min_idle and
//   pool.max_clients (worker k of n gets floor(v/n), plus one for the first v mod n workers), so
//   the database sees at most the configured number of server connections from this machine.
//   Every worker gets at least 1 server connection and 1 client per tenant, or it could not serve
//   the tenant at all: with size < n workers the machine may open up to n (docs/workers.md).
// - limits.max_client_conn and limits.max_unauthenticated_per_address are shared the same way.
// - Cancel keys: each worker is a node (frontend/cancel-keys.ts) with node id base + slot - 1,
//   where base is cluster.node_id (default 1), or the ids the supervisor leased with `node_id:
//   auto`; the siblings are peers reached through the supervisor's loopback relay, so a
//   CancelRequest that the kernel hands to the wrong worker still reaches the one holding the
//   client. Configured peers (other machines) are kept; with auto, other machines are found in
//   the store (peer-directory.ts) and forward to the supervisor's peer port, not to a worker.
// - The metrics endpoint is the supervisor's: workers start none.
// - listen.port is the machine's resolved port (a configured 0 is resolved by the first worker).
import { ConfigError } from '../config/snapshot.ts';
import type { PoolerConfig } from '../config/schema.ts';
import { MAX_NODE_ID } from '../frontend/cancel-keys.ts';
import type { WorkerPlan } from './worker-plan.ts';

/** Worker `slot` (1-based) of `count`'s share of `value`: the shares add up to `value`. */
export function shareOf(value: number, slot: number, count: number): number {
  return Math.floor(value / count) + (slot <= value % count ? 1 : 0);
}

/**
 * The node ids of the machine's workers: base .. base + count - 1, or with `node_id: auto` the ids
 * the supervisor leased (`leased`, one per slot).
 */
export function workerNodeIds(config: PoolerConfig, count: number, leased?: readonly number[]): number[] {
  const configured = config.cluster?.node_id;
  if (configured === 'auto' || leased !== undefined) {
    if (leased === undefined || leased.length !== count) throw new ConfigError(`cluster.node_id auto: ${count} leased node ids needed, got ${leased?.length ?? 0}`);
    return [...leased];
  }
  const base = configured ?? 1;
  if (base + count - 1 > MAX_NODE_ID) {
    throw new ConfigError(`cluster.node_id ${base} with ${count} workers needs node ids up to ${base + count - 1}; the largest is ${MAX_NODE_ID}`);
  }
  return Array.from({ length: count }, (_, i) => base + i);
}

export function workerConfig(config: PoolerConfig, plan: Pick<WorkerPlan, 'slot' | 'count' | 'listenPort' | 'relayPort' | 'nodeIds'>): PoolerConfig {
  const { slot, count } = plan;
  const ids = workerNodeIds(config, count, plan.nodeIds);
  const own = new Set(ids);
  const nodeId = ids[slot - 1];
  if (nodeId === undefined) throw new ConfigError(`worker slot ${slot} of ${count}`);
  const peers = [
    ...(config.cluster?.peers ?? []).filter((p) => !own.has(p.node_id)),
    ...ids.filter((id) => id !== nodeId).map((id) => ({ node_id: id, host: '127.0.0.1', port: plan.relayPort })),
  ];
  const { metrics: _machineEndpoint, ...rest } = config;
  return {
    ...rest,
    listen: { ...config.listen, port: plan.listenPort ?? config.listen.port },
    // The machine's connection limits too (frontend/admission.ts): the kernel spreads even one
    // address's connections over the workers.
    limits: {
      ...config.limits,
      max_client_conn: Math.max(1, shareOf(config.limits.max_client_conn, slot, count)),
      max_unauthenticated_per_address: Math.max(1, shareOf(config.limits.max_unauthenticated_per_address, slot, count)),
    },
    cluster: { node_id: nodeId, peers },
    tenants: config.tenants.map((t) => ({
      ...t,
      pool: {
        ...t.pool,
        size: Math.max(1, shareOf(t.pool.size, slot, count)),
        min_idle: shareOf(t.pool.min_idle, slot, count),
        max_clients: Math.max(1, shareOf(t.pool.max_clients, slot, count)),
      },
    })),
  };
}
