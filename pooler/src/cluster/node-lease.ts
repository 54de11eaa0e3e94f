// `cluster.node_id: auto`: this pooler's cancel-key node id(s), leased from the store (the local or
// AWS source's NodeLeaseStore, shared/src/domain/node-lease.ts) instead of configured by hand, so
// identical instances of an Auto Scaling group each get their own. One id per process: 1 for a
// single pooler, N for `--workers N` (the supervisor leases them for its workers).
//
// - Unique among live poolers: a claim is a conditional write that fails while another holder's
//   lease is live; the holder is a random token per process, never a host name.
// - Reuse after a pooler dies: its lease expires LEASE_TTL_MS after the last renewal. Claimants
//   prefer ids that were never leased, then those expired longest ago, so an id is handed out
//   again as late as possible: a CancelRequest still carrying a dead pooler's key then finds no
//   such client at the new holder (and would need the key's random secret anyway).
// - Renewal every LEASE_TTL_MS / 3: a store outage shorter than two renewals changes nothing. A
//   lease found taken (the store was unreachable for a whole TTL and someone claimed the id) is
//   logged as an error and claimed back as soon as it is free; until then cancels for this
//   pooler's clients that reach another instance are dropped, never misapplied (the secret).
// - Concurrent starts: each claimant tries the best candidates in a random order, so a fleet
//   starting at once does not queue on one id; a round that keeps losing re-reads the leases.
import { randomBytes, randomInt } from 'node:crypto';
import { leaseLive, MAX_NODE_ID, MIN_LEASED_NODE_ID, type NodeLease } from '../../../shared/src/domain/node-lease.ts';
import type { NodeLeaseStore } from '../../../shared/src/ports/store.ts';
import type { Logger } from '../log.ts';
import { STORE_CALL_TIMEOUT_MS, withDeadline } from './store-deadline.ts';

/** A lease lives this long after its last renewal. */
export const LEASE_TTL_MS = 60_000;
/** Candidates tried per round, drawn at random from the best ones. */
const CANDIDATES_PER_ROUND = 8;
const CANDIDATE_POOL = 64;
const MAX_ROUNDS = 8;

export interface NodeLeaseOptions {
  store: NodeLeaseStore;
  /** Node ids wanted: one per pooler process of this machine. */
  count: number;
  /** The heartbeat id (shown in the lease rows). */
  poolerId: string;
  /** Where peers forward CancelRequests for these ids: advertised host, peer port. */
  address: { host: string; port: number };
  log: Logger;
  ttlMs?: number;
  now?: () => number;
  /** A store call that takes longer is given up (store-deadline.ts): a renewal fails and the next one runs. */
  callTimeoutMs?: number;
}

/** The store's calls, each with a deadline: one hung call must not stop the renewals or the shutdown for good. */
function boundedStore(o: NodeLeaseOptions): NodeLeaseStore {
  const ms = o.callTimeoutMs ?? STORE_CALL_TIMEOUT_MS;
  return {
    claim: (lease, now) => withDeadline(o.store.claim(lease, now), ms, `claiming node id ${lease.nodeId}`),
    release: (nodeId, holder) => withDeadline(o.store.release(nodeId, holder), ms, `releasing node id ${nodeId}`),
    list: () => withDeadline(o.store.list(), ms, 'reading the node id leases'),
  };
}

export class NodeIdLease {
  /** The leased node ids, in the order the worker slots use them. */
  readonly ids: readonly number[];
  /** Ids another holder took while our renewals failed; claimed back when free. */
  readonly lost = new Set<number>();
  readonly #o: NodeLeaseOptions;
  readonly #holder: string;
  readonly #ttl: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;

  private constructor(o: NodeLeaseOptions, holder: string, ids: number[]) {
    this.#o = o;
    this.#holder = holder;
    this.#ttl = o.ttlMs ?? LEASE_TTL_MS;
    this.#now = o.now ?? Date.now;
    this.ids = ids;
  }

  /** Leases `count` free node ids; rejects (having released any it got) when there are not enough. */
  static async acquire(options: NodeLeaseOptions): Promise<NodeIdLease> {
    const o = { ...options, store: boundedStore(options) };
    const holder = randomBytes(18).toString('base64url');
    const ttl = o.ttlMs ?? LEASE_TTL_MS;
    const now = o.now ?? Date.now;
    const got: number[] = [];
    const lease = (nodeId: number): NodeLease => ({ nodeId, holder, poolerId: o.poolerId, host: o.address.host, port: o.address.port, expiresAtMs: now() + ttl });
    try {
      for (let round = 0; round < MAX_ROUNDS && got.length < o.count; round++) {
        const candidates = pickCandidates(await o.store.list(), now(), new Set(got), CANDIDATE_POOL);
        if (candidates.length === 0) break;
        let losses = 0;
        for (const id of candidates) {
          if (got.length >= o.count || losses >= CANDIDATES_PER_ROUND) break;
          if (await o.store.claim(lease(id), now())) got.push(id);
          else losses++;
        }
      }
    } catch (err) {
      await Promise.all(got.map((id) => o.store.release(id, holder).catch(() => undefined)));
      throw err;
    }
    if (got.length < o.count) {
      await Promise.all(got.map((id) => o.store.release(id, holder).catch(() => undefined)));
      throw new Error(`cannot lease ${o.count} cancel-key node id(s): ids ${MIN_LEASED_NODE_ID}..${MAX_NODE_ID} are held by live poolers (got ${got.length})`);
    }
    o.log.info({ nodeIds: got, advertise: o.address }, 'cancel-key node ids leased');
    return new NodeIdLease(o, holder, got);
  }

  /** Renews every LEASE_TTL_MS / 3 until release(). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(this.#ttl / 3)));
    this.#timer.unref();
  }

  /** One renewal of every id (a second call while one runs shares it). */
  renew(): Promise<void> {
    this.#renewing ??= this.#renewAll().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renewAll(): Promise<void> {
    const { store, log } = this.#o;
    for (const nodeId of this.ids) {
      const now = this.#now();
      let held: boolean;
      try {
        held = await store.claim({ nodeId, holder: this.#holder, poolerId: this.#o.poolerId, ...this.#o.address, expiresAtMs: now + this.#ttl }, now);
      } catch (err) {
        log.warn({ nodeId, err: (err as Error).message }, 'cannot renew the cancel-key node id lease; retrying');
        continue;
      }
      if (held && this.lost.delete(nodeId)) log.warn({ nodeId }, 'cancel-key node id lease claimed back');
      if (!held && !this.lost.has(nodeId)) {
        this.lost.add(nodeId);
        log.error({ nodeId }, 'another pooler holds this cancel-key node id (our lease expired while the store was unreachable): cancels for our clients that reach other instances are dropped until it is free again');
      }
    }
  }

  /** Stops renewing and ends the leases at once, so the ids are free for the next pooler. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing?.catch(() => undefined);
    await Promise.all(
      this.ids.filter((id) => !this.lost.has(id)).map((id) =>
        this.#o.store.release(id, this.#holder).catch((err: unknown) => this.#o.log.warn({ nodeId: id, err: (err as Error).message }, 'cannot release the cancel-key node id lease; it expires on its own')),
      ),
    );
  }
}

/**
 * Up to `pool` free ids (no row, or an expired one), best first: never leased, then expired
 * longest ago; a random order among equals, and the result shuffled, so concurrent claimants
 * spread over the candidates instead of all trying the same id.
 */
export function pickCandidates(leases: readonly NodeLease[], now: number, exclude: ReadonlySet<number>, pool: number): number[] {
  const rows = new Map(leases.map((l) => [l.nodeId, l]));
  const free: Array<{ id: number; key: number; tie: number }> = [];
  for (let id = MIN_LEASED_NODE_ID; id <= MAX_NODE_ID; id++) {
    if (exclude.has(id)) continue;
    const row = rows.get(id);
    if (row !== undefined && leaseLive(row, now)) continue;
    free.push({ id, key: row?.expiresAtMs ?? -1, tie: Math.random() });
  }
  free.sort((a, b) => a.key - b.key || a.tie - b.tie);
  const best = free.slice(0, pool).map((f) => f.id);
  for (let i = best.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [best[i], best[j]] = [best[j]!, best[i]!];
  }
  return best;
}
