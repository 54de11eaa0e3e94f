// A tenant's read endpoint (docs/read-endpoints.md): one pool per reader (the
// tenant's `size` each, min_idle 0, no writer check), and a choice per transaction (per session in
// session mode) made when the client asks for a server connection:
// - the readers whose measured lag (reader-lag.ts) is within the tenant's max_replica_lag_ms
//   qualify; among them the one with the least load (busy connections + queued clients), ties
//   taken in turn (round-robin). Least load rather than plain round-robin: read transactions vary
//   in length, and a reader that is slower or holds a long report gets fewer new ones instead of
//   a queue behind it;
// - none qualifies (no reader, down, lagging, not measured yet): the writer's pool, the tenant's
//   own, so the endpoint keeps answering (with current data) rather than failing.
// Clients queued on a reader that stops qualifying are moved to the new choice at once, not left
// to wait out checkout_timeout there.
import type { Logger } from '../log.ts';
import type { PoolSettings } from '../config/schema.ts';
import type { ServerTarget } from './connect.ts';
import { Pool, type PoolClient } from './pool.ts';
import { endpointKey, type ReaderLagBook } from './reader-lag.ts';

/** What the router needs of the tenant's route. */
export interface ReadRouteView {
  readonly id: string;
  readonly pool: PoolSettings;
  readonly read?: { readonly readers: readonly ServerTarget[]; readonly maxLagMs: number } | undefined;
}

/** A client of the read endpoint: the router sets the pool it queues on. */
export interface ReadClient extends PoolClient {
  pool: Pool | null;
}

export interface ReaderPool {
  readonly key: string;
  readonly pool: Pool;
}

export class ReadRouter {
  readonly tenantId: string;
  private readonly writer: Pool;
  private readonly book: ReaderLagBook;
  private readonly log: Logger;
  private readers: ReaderPool[] = [];
  private maxLagMs = 0;
  private turn = 0;
  private readonly unsubscribe = new Map<string, () => void>();
  private readonly clients = new Set<ReadClient>();
  /** Transactions (sessions in session mode) sent to a reader, and to the writer for want of one. */
  routedToReader = 0;
  routedToWriter = 0;

  /** Told of each reader pool it creates (the owner's checkout-wait histogram, a PAUSE of everything). */
  private readonly poolCreated: ((pool: Pool) => void) | undefined;

  constructor(route: ReadRouteView, writer: Pool, book: ReaderLagBook, log: Logger, poolCreated?: (pool: Pool) => void) {
    this.tenantId = route.id;
    this.writer = writer;
    this.book = book;
    this.log = log.child({ tenant: route.id });
    this.poolCreated = poolCreated;
    this.update(route);
  }

  /** A reload: readers added get a pool, readers gone close theirs, the others take new settings. */
  update(route: ReadRouteView): void {
    const read = route.read;
    this.maxLagMs = read?.maxLagMs ?? 0;
    const settings: PoolSettings = { ...route.pool, min_idle: 0, check_writer: false };
    const next: ReaderPool[] = [];
    const old = new Map(this.readers.map((r) => [r.key, r] as const));
    for (const target of read?.readers ?? []) {
      const key = endpointKey(target);
      if (next.some((r) => r.key === key)) continue;
      const have = old.get(key);
      old.delete(key);
      if (have !== undefined) {
        have.pool.retarget(target, settings);
        next.push(have);
      } else {
        const pool = new Pool(route.id, target, settings, this.log.child({ reader: key }));
        // A reader added while the tenant is paused (admin PAUSE) starts paused too.
        if (this.writer.paused) void pool.pause();
        this.poolCreated?.(pool);
        next.push({ key, pool });
      }
    }
    this.readers = next;
    for (const gone of old.values()) this.closeReader(gone);
    this.resubscribe();
  }

  /** Registers a client of the read endpoint (so that it can be moved when its reader stops qualifying). */
  track(client: ReadClient): void {
    this.clients.add(client);
  }

  untrack(client: ReadClient): void {
    this.clients.delete(client);
  }

  /** The pool for the next transaction. */
  pick(): Pool {
    const p = this.choose();
    if (p === this.writer) this.routedToWriter++;
    else this.routedToReader++;
    return p;
  }

  /** The pool the next transaction would use, not counted (a login asking for server parameters). */
  choose(): Pool {
    const n = this.readers.length;
    if (n === 0) return this.writer;
    const now = Date.now();
    let best: Pool | undefined;
    let bestLoad = Infinity;
    const start = this.turn++ % n;
    for (let k = 0; k < n; k++) {
      const r = this.readers[(start + k) % n]!;
      if (r.pool.paused || this.book.get(r.key)?.qualifies(this.maxLagMs, now) !== true) continue;
      const load = r.pool.load;
      if (load < bestLoad) {
        best = r.pool;
        bestLoad = load;
      }
    }
    return best ?? this.writer;
  }

  /** Does the reader `key` qualify now? (SHOW POOLS, metrics.) */
  qualifies(key: string): boolean {
    return this.book.get(key)?.qualifies(this.maxLagMs) === true;
  }

  readerPools(): readonly ReaderPool[] {
    return this.readers;
  }

  close(): void {
    for (const r of this.readers) this.closeReader(r);
    this.readers = [];
    this.resubscribe();
    this.clients.clear();
  }

  private closeReader(r: ReaderPool): void {
    // Its queued read clients go elsewhere rather than failing with TENANT_REMOVED.
    this.rehome(r.pool, true);
    r.pool.close();
    r.pool.closeAllServers('target_changed');
  }

  private resubscribe(): void {
    const keys = new Set(this.readers.map((r) => r.key));
    for (const [key, off] of this.unsubscribe) {
      if (keys.has(key)) continue;
      off();
      this.unsubscribe.delete(key);
    }
    for (const key of keys) {
      if (this.unsubscribe.has(key)) continue;
      const probe = this.book.get(key);
      if (probe !== undefined) this.unsubscribe.set(key, probe.onChange(() => this.probeChanged(key)));
    }
  }

  /** A reader's lag changed: if it no longer qualifies, its queued clients go to the next choice. */
  private probeChanged(key: string): void {
    if (this.qualifies(key)) return;
    const r = this.readers.find((x) => x.key === key);
    if (r !== undefined) this.rehome(r.pool, false);
  }

  private rehome(from: Pool, closing: boolean): void {
    const moved = from.takeWaiters((c) => this.clients.has(c as ReadClient)) as ReadClient[];
    if (moved.length === 0) return;
    if (closing) this.readers = this.readers.filter((r) => r.pool !== from);
    this.log.info({ clients: moved.length }, 'read clients queued on a reader that no longer qualifies move on');
    for (const c of moved) {
      const to = this.pick();
      c.pool = to;
      to.acquire(c);
    }
  }
}
