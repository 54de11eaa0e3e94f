// Fleet connection budgets (docs/fleet.md). Each cluster has a server-connection budget and each
// tenant's `pool.size` is a fleet-wide figure; the live poolers split both between them (a pooler's
// share of a cluster's budget is then shared by that cluster's tenants on demand:
// pooler/src/backend/cluster-gate.ts).
//
// Who is live is one row in the store, the budget leases: a generation, and per pooler a lease
// (expiry), the generation whose shares it has IN EFFECT (`ack`), and the budgets it wants more of
// or lends (`want`, `give`). The split is a pure function of the generation's members (memberShareOf
// below: even shares, lenders' moved to the members that want them), so every pooler computes every
// share alike:
//
// - Every pooler renews its lease with a conditional write on the row's version (DynamoDB
//   conditional PutItem, or the file lock locally). A join, a leave, the removal of a member
//   whose lease expired, or a member's change of `want`/`give` starts a new generation.
// - Seeing a new generation, a pooler LOWERS its limits to min(current, new share) at once,
//   closes what is above, and acks the generation once its open connections fit the new shares.
// - A pooler RAISES its limits to its shares only after a successful write of a row where every
//   member acked the current generation: every other pooler then already keeps to its own share
//   of that generation, so the shares add up to no more than the budgets, also mid-rebalance.
// - A pooler that cannot renew stops using connections before its lease can expire (it fences
//   itself at expiry − margin, measured from before the write was sent), and a dead pooler is
//   removed — its shares handed out — only once its lease has expired.
import { z } from 'zod';
import type { Cluster } from './cluster.ts';

/** At most this many keys in a lease's `want` and in its `give` (the row stays one small item). */
export const MAX_DEMAND_KEYS = 32;
/**
 * At most this many keys in all members' `want` and `give` together: the row is ONE DynamoDB item,
 * refused above 400 KB (a key is up to 65 characters: 3000 of them ≈ 210 KB, next to ≈ 100 KB for
 * 1000 members' other fields).
 */
export const MAX_ROW_DEMAND_KEYS = 3000;

/** How many keys each of a member's lists may hold in a row of `members` members (MAX_DEMAND_KEYS, less in a large fleet). */
export function demandKeyCap(members: number): number {
  return Math.max(1, Math.min(MAX_DEMAND_KEYS, Math.floor(MAX_ROW_DEMAND_KEYS / (2 * Math.max(1, members)))));
}

/** PostgreSQL's own default max_connections: the budget's basis when a cluster does not say. */
export const DEFAULT_MAX_CONNECTIONS = 100;
/** Kept back from max_connections for superusers, replication, maintenance and the control plane. */
export const MIN_RESERVED_CONNECTIONS = 5;
/** Upper bound of maxConnections / connectionBudget (PostgreSQL's own limit is 262143). */
export const MAX_CONNECTIONS_LIMIT = 262_143;

export const budgetLeaseSchema = z
  .object({
    /** Random per process, never reused (as the node id leases'). */
    holder: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    /** The holder's heartbeat id. */
    poolerId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/),
    /** Epoch ms after which the lease is dead; its holder stops using connections before then. */
    expiresAtMs: z.number().int().nonnegative(),
    /** The last generation whose shares this holder has in effect (0: none yet). */
    ack: z.number().int().nonnegative(),
    /** Demand keys (demandKey) this holder needs more of than its even share: it borrows what idle holders lend. */
    want: z.array(z.string().max(300)).max(MAX_DEMAND_KEYS).optional(),
    /** Demand keys another holder wants that this holder has no use for now: it lends its share of them. */
    give: z.array(z.string().max(300)).max(MAX_DEMAND_KEYS).optional(),
  })
  .strict();
export type BudgetLease = z.infer<typeof budgetLeaseSchema>;

export const budgetLeasesSchema = z
  .object({
    /** Grows by one on every change of membership. */
    generation: z.number().int().nonnegative(),
    /** Grows by one on every write (the condition of the next one). */
    version: z.number().int().positive(),
    /** In the order they joined; the split of each budget follows this order. */
    members: z.array(budgetLeaseSchema).max(1000),
  })
  .strict();
export type BudgetLeases = z.infer<typeof budgetLeasesSchema>;

/** Reserve kept back from `maxConnections`: 10 % (rounded up), at least MIN_RESERVED_CONNECTIONS. */
export function reservedConnections(maxConnections: number): number {
  return Math.max(MIN_RESERVED_CONNECTIONS, Math.ceil(maxConnections / 10));
}

export interface ClusterBudget {
  /** As stored, or DEFAULT_MAX_CONNECTIONS. */
  maxConnections: number;
  reserved: number;
  /** Server connections all poolers together may hold to the cluster. */
  budget: number;
  /** Whether `budget` was set explicitly (connectionBudget) rather than derived. */
  explicit: boolean;
}

/** The cluster's budget: `connectionBudget` if set, else maxConnections minus the reserve. */
export function clusterBudgetOf(c: Pick<Cluster, 'maxConnections' | 'connectionBudget'>): ClusterBudget {
  const maxConnections = c.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const reserved = reservedConnections(maxConnections);
  if (c.connectionBudget !== undefined) return { maxConnections, reserved, budget: c.connectionBudget, explicit: true };
  return { maxConnections, reserved, budget: Math.max(0, maxConnections - reserved), explicit: false };
}

/**
 * `total` split into `n` integer parts that add up to exactly `total` (never more): each gets
 * floor(total / n), and the remainder goes one each to the parts starting at `offset`, so the
 * extras of different budgets land on different members.
 */
export function splitEvenly(total: number, n: number, offset = 0): number[] {
  if (n <= 0) return [];
  const base = Math.floor(total / n);
  const extra = total - base * n;
  const out = new Array<number>(n).fill(base);
  for (let k = 0; k < extra; k++) out[(offset + k) % n]! += 1;
  return out;
}

/** A tenant for whom the pooler leases a share of its fleet-wide size. */
export interface BudgetTenant {
  tenantId: string;
  /** Undefined for a destination given by host (no cluster budget applies). */
  clusterId?: string | undefined;
  /** The fleet-wide pool.size. */
  size: number;
}

/** A stable spread of the remainder's start by id (FNV-1a), so one member does not get every extra. */
export function offsetOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Member `rank` (0-based, join order) of `n`'s share of `total` (a tenant's size, a cluster's budget; `key` its id). */
export function shareOf(total: number, key: string, rank: number, n: number): number {
  if (rank < 0 || rank >= n) return 0;
  return splitEvenly(total, n, offsetOf(key) % n)[rank]!;
}

/** The key a tenant's size or a cluster's budget goes by in `want` and `give`. */
export function demandKey(kind: 'tenant' | 'cluster', id: string): string {
  return `${kind === 'tenant' ? 't' : 'c'}:${id}`;
}

/**
 * Member `rank`'s share of `total` (a tenant's size, a cluster's budget; `id` its id, `key` its
 * demandKey) in a generation with these members, lending included: each member's even share
 * (shareOf), except that when some members lend the key (`give`) and others want it (`want`), the
 * lenders' shares go to the wanting members, split evenly between them. A pure function of the
 * row, so every pooler computes every share alike, and for every key the shares still add up to
 * exactly `total`: lending moves connections between poolers, never adds any.
 */
export function memberShareOf(total: number, id: string, key: string, members: readonly Pick<BudgetLease, 'want' | 'give'>[], rank: number): number {
  const n = members.length;
  if (rank < 0 || rank >= n) return 0;
  const shares = splitEvenly(total, n, offsetOf(id) % n);
  const lenders: number[] = [];
  const borrowers: number[] = [];
  members.forEach((m, r) => {
    if (m.give?.includes(key)) lenders.push(r);
    else if (m.want?.includes(key)) borrowers.push(r);
  });
  if (lenders.length === 0 || borrowers.length === 0) return shares[rank]!;
  let lent = 0;
  for (const r of lenders) {
    lent += shares[r]!;
    shares[r] = 0;
  }
  const extra = splitEvenly(lent, borrowers.length, offsetOf(id) % borrowers.length);
  borrowers.forEach((r, i) => (shares[r]! += extra[i]!));
  return shares[rank]!;
}

/** Whether every member has the row's generation in effect (so each may use its full shares). */
export function settled(row: Pick<BudgetLeases, 'generation' | 'members'>): boolean {
  return row.members.every((m) => m.ack === row.generation);
}

/** Lease ttl bounds (the `budget_lease_ttl` setting, seconds). */
export const MIN_BUDGET_LEASE_TTL_S = 2;
export const MAX_BUDGET_LEASE_TTL_S = 300;
