// This pooler's shares of the fleet connection budgets (docs/fleet.md; the protocol and why it
// never lets the poolers together exceed a budget, also mid-rebalance: shared/src/domain/budget.ts).
//
// Each tick reads the one budget-leases row, drops members whose lease expired, joins if absent,
// LOWERS this pooler's limits to its shares of the row's generation at once (idle connections above
// close, busy ones when released: backend/pool.ts setLeaseSize), acks the generation when its
// connections fit, and renews its lease — one compare-and-set write. Only after a successful write
// of a row in which every member acked does it RAISE its limits to its shares. A pooler that cannot
// renew fences itself (limits 0) a margin before its lease could expire, so its share can be handed
// out safely; a leaving pooler gives its connections back before it leaves the row. In the same
// write it says which budgets it wants more of and which it lends (#demand): a change of either is
// a new generation, as a join is, and the shares follow it (memberShareOf).
//
// Ticks come every lease_ttl / 5, and every FAST_TICK_MS while a rebalance is under way (so one
// settles in a few hundred ms plus the time the longest transaction above a lowered share takes).
import { randomBytes } from 'node:crypto';
import { clusterBudgetOf, demandKey, demandKeyCap, memberShareOf, settled, shareOf, type BudgetLease as MemberLease, type BudgetLeases, type BudgetTenant } from '../../../../shared/src/domain/budget.ts';
import type { Shares } from '../../backend/fleet-limits.ts';
import type { BudgetLeaseStore } from '../../../../shared/src/ports/store.ts';
import { STORE_CALL_TIMEOUT_MS, withDeadline } from '../../cluster/store-deadline.ts';
import type { Logger } from '../../log.ts';

/** Ticks while a rebalance is under way (this pooler not a member yet, or the row not settled). */
export const FAST_TICK_MS = 250;
/** Compare-and-set attempts per tick when other poolers write the row at the same time. */
const WRITE_ATTEMPTS = 8;
/** A leaving pooler waits this long for its server connections to close before leaving the row. */
const LEAVE_WAIT_MS = 10_000;
/** A share asked for nothing (no busy connection, no queued client) this long may be lent to a pooler that wants it. */
const LEND_AFTER_MS = 1_000;
/** A pooler keeps asking to borrow this long after its load last exceeded its even share (no flapping). */
const WANT_HOLD_MS = 5_000;
/** The extra tick when a client queues on a used-up share comes this soon… */
const SOON_MS = 100;
/** …and at most this often. */
const SOON_GAP_MS = 1_000;

/** What the budget lease needs from the pooler and its source. */
export interface LeaseHost {
  /** The tenants served, with their fleet-wide size and cluster. */
  tenants(): BudgetTenant[];
  /** Each cluster's connection budget. */
  clusterBudgets(): ReadonlyMap<string, number>;
  /** Applies this pooler's limits (a tenant or cluster not named gets 0); `force` closes busy connections above them too. */
  setLeaseSizes(shares: Shares, force?: boolean): void;
  /** Server connections counted against each limit (open, opening, closing), per tenant and per cluster. */
  leaseUsages(): Shares;
  /** What each share is asked for now (busy connections plus queued clients); absent: no lending. */
  loads?(): Shares;
}

export interface BudgetLeaseOptions {
  store: BudgetLeaseStore;
  host: LeaseHost;
  poolerId: string;
  ttlMs: number;
  log: Logger;
  now?: () => number;
  callTimeoutMs?: number;
}

/** What this pooler holds (metrics, admin, tests). */
export interface LeaseState {
  generation: number;
  rank: number;
  members: number;
  /** Every member has the generation in effect: this pooler uses its full shares. */
  settled: boolean;
  /** Epoch ms: without a renewal by then, this pooler fences itself (limits 0). */
  fenceAtMs: number;
}

export class BudgetLease {
  readonly holder = randomBytes(18).toString('base64url');
  readonly #o: BudgetLeaseOptions;
  readonly #store: BudgetLeaseStore;
  readonly #now: () => number;
  readonly #interval: number;
  readonly #margin: number;
  #limits: Shares = NONE;
  #state: LeaseState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #fenceTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;
  #soon: NodeJS.Timeout | undefined;
  #lastSoon = -Infinity;
  /** This pooler's entry as last written (its want and give lists). */
  #mine: MemberLease | undefined;
  /** Per demand key: asking to borrow until then. */
  readonly #wantUntil = new Map<string, number>();
  /** Per demand key: asked for nothing since then. */
  readonly #idleSince = new Map<string, number>();

  constructor(o: BudgetLeaseOptions) {
    this.#o = o;
    const ms = o.callTimeoutMs ?? Math.min(STORE_CALL_TIMEOUT_MS, Math.floor(o.ttlMs / 4));
    this.#store = {
      read: () => withDeadline(o.store.read(), ms, 'reading the budget leases'),
      write: (row) => withDeadline(o.store.write(row), ms, 'writing the budget leases'),
    };
    this.#now = o.now ?? Date.now;
    this.#interval = Math.max(50, Math.floor(o.ttlMs / 5));
    // Fence a quarter ttl before the stored expiry: covers late timers and clock skew between machines.
    this.#margin = Math.floor(o.ttlMs / 4);
    // Nothing is used before the first lease.
    o.host.setLeaseSizes(this.#limits);
  }

  get state(): LeaseState | undefined {
    return this.#state;
  }

  /** The limits in force now, per tenant and per cluster. */
  get limits(): Shares {
    return this.#limits;
  }

  /** Joins (one tick, awaited; a failure is logged and retried) and keeps ticking until leave(). */
  async start(): Promise<void> {
    await this.tick().catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'cannot lease fleet budget shares yet; retrying'));
    this.#schedule();
  }

  /** One read-and-write of the row (a second call while one runs shares it). */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  /**
   * A client queued on a used-up share of `keys` (demandKey): tick shortly if that could change
   * what this pooler asks — a key it does not want yet, or one it lends — so borrowing (or taking a
   * lent share back) does not wait for the next renewal. At most one such tick per SOON_GAP_MS: a
   * pool that stays saturated does not turn into a stream of store writes.
   */
  soon(keys: readonly string[]): void {
    if (this.#soon !== undefined || this.#stopped || this.#now() - this.#lastSoon < SOON_GAP_MS) return;
    const mine = this.#state === undefined ? undefined : this.#mine;
    if (mine !== undefined && keys.every((k) => mine.want?.includes(k) && !mine.give?.includes(k))) return;
    this.#lastSoon = this.#now();
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.tick().catch(() => undefined);
    }, SOON_MS);
    this.#soon.unref();
  }

  /** Every cluster's budget, a cluster the source did not report (it always does) at its default, never none. */
  #budgets(tenants: readonly BudgetTenant[]): Map<string, number> {
    const budgets = new Map(this.#o.host.clusterBudgets());
    for (const t of tenants) if (t.clusterId !== undefined && !budgets.has(t.clusterId)) budgets.set(t.clusterId, clusterBudgetOf({}).budget);
    return budgets;
  }

  /** Member `rank`'s shares of every tenant's size and every cluster's budget in a generation with these members, lending included. */
  sharesFor(members: readonly Pick<MemberLease, 'want' | 'give'>[], rank: number): Shares {
    const tenants = this.#o.host.tenants();
    return {
      tenants: new Map(tenants.map((t) => [t.tenantId, memberShareOf(t.size, t.tenantId, demandKey('tenant', t.tenantId), members, rank)])),
      clusters: new Map([...this.#budgets(tenants)].map(([id, b]) => [id, memberShareOf(b, id, demandKey('cluster', id), members, rank)])),
    };
  }

  /**
   * What this pooler asks to borrow and offers to lend (docs/fleet.md, "Idle shares are lent"):
   * it wants a key while its load is above its even share (and WANT_HOLD_MS after); it lends a key
   * another member wants once it has asked nothing of it for LEND_AFTER_MS. At most
   * demandKeyCap(members) each (MAX_DEMAND_KEYS in a small fleet), the largest wants first.
   */
  #demand(members: readonly MemberLease[], rank: number, now: number): { want: string[]; give: string[] } {
    const loads = this.#o.host.loads?.();
    if (loads === undefined) return { want: [], give: [] };
    const n = members.length;
    // The row is one DynamoDB item (400 KB): in a large fleet each list holds fewer keys.
    const cap = demandKeyCap(n);
    const tenants = this.#o.host.tenants();
    const seen = new Set<string>();
    const wants: Array<[string, number]> = [];
    const consider = (key: string, id: string, total: number, load: number): void => {
      seen.add(key);
      const even = shareOf(total, id, rank, n);
      if (load > even) this.#wantUntil.set(key, now + WANT_HOLD_MS);
      if (load > 0) this.#idleSince.delete(key);
      else if (!this.#idleSince.has(key)) this.#idleSince.set(key, now);
      if ((this.#wantUntil.get(key) ?? 0) > now) wants.push([key, load - even]);
    };
    for (const t of tenants) consider(demandKey('tenant', t.tenantId), t.tenantId, t.size, loads.tenants.get(t.tenantId) ?? 0);
    for (const [id, budget] of this.#budgets(tenants)) consider(demandKey('cluster', id), id, budget, loads.clusters.get(id) ?? 0);
    for (const key of this.#idleSince.keys()) if (!seen.has(key)) this.#idleSince.delete(key);
    for (const [key, until] of this.#wantUntil) if (!seen.has(key) || until <= now) this.#wantUntil.delete(key);
    const want = wants
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, cap)
      .map(([key]) => key)
      .sort();
    const mine = new Set(want);
    const othersWant = new Set(members.flatMap((m, r) => (r === rank ? [] : (m.want ?? []))));
    const give = [...othersWant]
      .filter((key) => !mine.has(key) && seen.has(key) && now - (this.#idleSince.get(key) ?? now) >= LEND_AFTER_MS)
      .sort()
      .slice(0, cap);
    return { want, give };
  }

  async #tick(): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS && !this.#stopped; attempt++) {
      this.#fenceIfDue();
      const t0 = this.#now();
      const row = await this.#store.read();
      const base: BudgetLeases = row ?? { generation: 0, version: 0, members: [] };
      let generation = base.generation;
      const members: MemberLease[] = base.members.filter((m) => m.holder === this.holder || m.expiresAtMs > t0);
      if (members.length !== base.members.length) generation++;
      let rank = members.findIndex((m) => m.holder === this.holder);
      if (rank < 0) {
        // Not (or no longer) a member: no limit of ours is backed by a lease.
        this.#apply(NONE);
        members.push({ holder: this.holder, poolerId: this.#o.poolerId, expiresAtMs: 0, ack: 0 });
        rank = members.length - 1;
        generation++;
      }
      // What it asks to borrow and lends changes the shares: a new generation, as a join does.
      const demand = this.#demand(members, rank, t0);
      const before = members[rank]!;
      if (!sameKeys(before.want, demand.want) || !sameKeys(before.give, demand.give)) generation++;
      members[rank] = withDemand(before, demand);
      const shares = this.sharesFor(members, rank);
      // Lowering is always safe: do it before anything else.
      this.#apply(lowest(shares, this.#limits));
      const mine = members[rank]!;
      const fits = within(this.#o.host.leaseUsages(), shares);
      members[rank] = { ...mine, expiresAtMs: t0 + this.#o.ttlMs, ack: fits || mine.ack === generation ? generation : mine.ack };
      const next: BudgetLeases = { generation, version: base.version + 1, members };
      if (!(await this.#store.write(next))) {
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 40));
        continue;
      }
      this.#renewed(t0 + this.#o.ttlMs - this.#margin, t0 + this.#o.ttlMs);
      this.#mine = members[rank];
      const done = settled(next);
      // Every member keeps to its share of this generation: ours is ours to use.
      if (done) this.#apply(shares);
      const was = this.#state;
      this.#state = { generation, rank, members: members.length, settled: done, fenceAtMs: t0 + this.#o.ttlMs - this.#margin };
      if (was?.generation !== generation || was.settled !== done) {
        this.#o.log.info({ generation, rank, members: members.length, settled: done }, done ? 'fleet budget shares in effect' : 'fleet budget rebalancing');
      }
      return;
    }
    if (!this.#stopped) this.#o.log.warn({ attempts: WRITE_ATTEMPTS }, 'budget leases changed under every attempt; trying again next tick');
  }

  #apply(limits: Shares): void {
    this.#limits = limits;
    this.#o.host.setLeaseSizes(limits);
  }

  #renewed(fenceAt: number, expiresAt: number): void {
    clearTimeout(this.#fenceTimer);
    clearTimeout(this.#expiryTimer);
    this.#fenceTimer = setTimeout(() => this.#fenceIfDue(), Math.max(0, fenceAt - this.#now()));
    this.#fenceTimer.unref();
    // At expiry the share is anyone's: nothing of it may still be open, busy or not.
    this.#expiryTimer = setTimeout(() => {
      this.#fenceIfDue();
      if (this.#state === undefined) this.#o.host.setLeaseSizes(this.#limits, true);
    }, Math.max(0, expiresAt - this.#margin / 2 - this.#now()));
    this.#expiryTimer.unref();
  }

  /**
   * No renewal in time: stop using connections before the lease can expire and be handed out
   * (idle ones close now, busy ones at their release or, at the latest, just before expiry).
   */
  #fenceIfDue(): void {
    if (this.#state === undefined || this.#now() < this.#state.fenceAtMs) return;
    this.#o.log.error({ generation: this.#state.generation }, 'fleet budget lease not renewed in time: using no server connections until it is');
    this.#state = undefined;
    this.#apply(NONE);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const fast = this.#state === undefined || !this.#state.settled;
    this.#timer = setTimeout(
      () =>
        void this.tick()
          .catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'cannot renew the fleet budget lease; retrying'))
          .finally(() => this.#schedule()),
      fast ? FAST_TICK_MS : this.#interval,
    );
    this.#timer.unref();
  }

  /**
   * Leaves the fleet: limits 0, waits (bounded) for this pooler's server connections to close,
   * then removes its lease so the others may take its shares. Connections that do not close in
   * time: the lease is left to expire instead (it is no longer renewed).
   */
  async leave(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#soon);
    await this.#ticking?.catch(() => undefined);
    this.#apply(NONE);
    const deadline = this.#now() + LEAVE_WAIT_MS;
    while ([...this.#o.host.leaseUsages().tenants.values()].some((n) => n > 0)) {
      if (this.#now() > deadline) {
        this.#o.log.warn('server connections still open: the fleet budget lease is left to expire');
        clearTimeout(this.#fenceTimer);
        clearTimeout(this.#expiryTimer);
        return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    clearTimeout(this.#fenceTimer);
    clearTimeout(this.#expiryTimer);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      try {
        const row = await this.#store.read();
        if (row === undefined || !row.members.some((m) => m.holder === this.holder)) return;
        const members = row.members.filter((m) => m.holder !== this.holder);
        if (await this.#store.write({ generation: row.generation + 1, version: row.version + 1, members })) {
          this.#o.log.info('left the fleet budget leases');
          return;
        }
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message }, 'cannot leave the fleet budget leases; the lease expires on its own');
        return;
      }
    }
  }
}

const NONE: Shares = { tenants: new Map(), clusters: new Map() };

/** Two key lists alike (absent = empty). */
function sameKeys(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return (a?.length ?? 0) === b.length && b.every((k, i) => a![i] === k);
}

/** The member's lease with these lists (an empty list is left out of the row). */
function withDemand(m: MemberLease, d: { want: string[]; give: string[] }): MemberLease {
  const { want: _want, give: _give, ...rest } = m;
  return { ...rest, ...(d.want.length > 0 ? { want: d.want } : {}), ...(d.give.length > 0 ? { give: d.give } : {}) };
}

/** Each limit at the lower of the two (absent = 0). */
function lowest(a: Shares, b: Shares): Shares {
  const min = (x: ReadonlyMap<string, number>, y: ReadonlyMap<string, number>) => new Map([...x].map(([id, v]) => [id, Math.min(v, y.get(id) ?? 0)]));
  return { tenants: min(a.tenants, b.tenants), clusters: min(a.clusters, b.clusters) };
}

/** Every usage within its share (absent = 0). */
function within(used: Shares, shares: Shares): boolean {
  const ok = (u: ReadonlyMap<string, number>, s: ReadonlyMap<string, number>) => [...u].every(([id, n]) => n <= (s.get(id) ?? 0));
  return ok(used.tenants, shares.tenants) && ok(used.clusters, shares.clusters);
}
