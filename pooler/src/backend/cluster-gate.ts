// This pooler's share of one cluster's connection budget (fleet budgets, docs/fleet.md), shared by
// the pools of every tenant on the cluster: a pool opens a server connection only while the
// cluster's pools together hold fewer than the share. Tenants' sizes may add up to more than the
// budget (most tenants are idle most of the time); the share then goes where the demand is:
// - a pool refused a connection is queued here (FIFO) and woken when one of the cluster's
//   connections closes;
// - to make room for it, an idle connection of another pool is closed at once, and a pool that
//   gets a connection back with none of its own clients waiting closes it instead of keeping it idle,
//   as does one holding more than an even split of the share among the pools that want room.
// A pool's clients still wait in its own queue, bounded by checkout_timeout (backend/pool.ts).

/** What the gate needs of a pool (backend/pool.ts implements it). */
export interface GatedPool {
  /** Server connections counted against the budgets: open, opening, closing. */
  readonly leaseUsage: number;
  /** Closes its longest-idle connection; false when it has none idle. */
  closeOneIdle(): boolean;
  /** Opens connections for its waiters if it may now. */
  kick(): void;
}

export class ClusterGate {
  readonly clusterId: string;
  #limit = 0;
  /** The limit went down and the usage may still be above it (only then can it be). */
  #lowered = false;
  readonly #pools = new Set<GatedPool>();
  readonly #blocked = new Set<GatedPool>();

  constructor(clusterId: string) {
    this.clusterId = clusterId;
  }

  get limit(): number {
    return this.#limit;
  }

  add(pool: GatedPool): void {
    this.#pools.add(pool);
  }

  remove(pool: GatedPool): void {
    this.#pools.delete(pool);
    this.#blocked.delete(pool);
    this.wake();
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Server connections of the cluster's pools on this pooler. */
  usage(): number {
    let n = 0;
    for (const p of this.#pools) n += p.leaseUsage;
    return n;
  }

  /**
   * May `pool` open a connection now? If not (and `queue`), it is queued and, where another pool
   * has an idle connection, that one is closed to make room.
   */
  mayOpen(pool: GatedPool, queue = true): boolean {
    if (this.usage() < this.#limit) return true;
    if (!queue) return false;
    this.#blocked.add(pool);
    for (const other of this.#pools) if (other !== pool && other.closeOneIdle()) break;
    return false;
  }

  /**
   * Should `pool` close a connection it gets back rather than keep it (over the share, or another
   * pool waits for room and `pool` has nobody waiting or more than an even split)? On every
   * release: O(1) unless the limit was just lowered.
   */
  shouldYield(pool: GatedPool, hasWaiters: boolean): boolean {
    if (this.#lowered) {
      if (this.usage() > this.#limit) return true;
      this.#lowered = false;
    }
    const others = this.#blocked.size - (this.#blocked.has(pool) ? 1 : 0);
    if (others === 0) return false;
    // Others wait for room: give it back when nobody of ours waits, and also when we hold more
    // than an even split among the pools that want connections — a tenant whose queue never
    // empties would otherwise keep the whole share and starve the cluster's other tenants.
    // Rounded up: two pools that both want more never hand one connection back and forth.
    return !hasWaiters || pool.leaseUsage > Math.ceil(this.#limit / (others + 1));
  }

  /** A connection of the cluster closed: queued pools open what now fits, in order. */
  wake(): void {
    for (const p of [...this.#blocked]) {
      if (this.usage() >= this.#limit) return;
      this.#blocked.delete(p);
      p.kick();
    }
  }

  /** Sets the share: above it idle connections close now, busy ones when released (shouldYield). */
  setLimit(n: number): void {
    this.#limit = n;
    // A connection closing still counts until its socket has closed: close just the excess.
    let excess = this.usage() - n;
    this.#lowered = excess > 0;
    for (const p of this.#pools) while (excess > 0 && p.closeOneIdle()) excess--;
    this.wake();
  }
}
