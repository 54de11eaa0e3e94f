// Where another node's cancels go, for `cluster.node_id: auto`: the peer address in that node's
// lease row (node-lease.ts), read from the store when a CancelRequest for a node we do not know
// (or knew too long ago) arrives. Cancels are rare and the lease rows are one partition, so a
// look-up is one small Query; a fleet therefore needs no peer list in any configuration.
//
// Bounds (the sender of a CancelRequest is not authenticated): at most one store read per
// MIN_GAP_MS per process, shared by every look-up meanwhile, whatever node ids an attacker puts in
// its cancel keys; at most MAX_NODE_ID + 1 entries. A row expired less than ROUTE_GRACE_MS ago still
// routes: a peer whose renewals failed for a while keeps its clients cancellable, and a peer
// that is really gone just refuses the connection (the secret is checked by whoever answers).
import { leaseLive } from '../../../shared/src/domain/node-lease.ts';
import type { NodeLeaseStore } from '../../../shared/src/ports/store.ts';
import type { Logger } from '../log.ts';
import { STORE_CALL_TIMEOUT_MS, withDeadline } from './store-deadline.ts';

export interface PeerAddress {
  host: string;
  port: number;
}

/** What Pooler.cancel asks for a node that is not its own. */
export interface PeerLookup {
  peer(nodeId: number): Promise<PeerAddress | undefined>;
}

/** A view younger than this answers without reading the store. */
const MAX_AGE_MS = 5_000;
/** At most one store read per this many ms. */
const MIN_GAP_MS = 1_000;
/** An expired lease still routes for this long (its holder may only have missed renewals). */
const ROUTE_GRACE_MS = 10 * 60_000;

export interface PeerDirectoryOptions {
  store: Pick<NodeLeaseStore, 'list'>;
  log: Logger;
  /** Our own node ids: never a peer. */
  own: readonly number[];
  now?: () => number;
  maxAgeMs?: number;
  minGapMs?: number;
  /** A store read that takes longer is given up (store-deadline.ts); the last view stays. */
  callTimeoutMs?: number;
}

export class PeerDirectory implements PeerLookup {
  readonly #o: PeerDirectoryOptions;
  readonly #now: () => number;
  #view = new Map<number, PeerAddress>();
  #fetchedAt = -Infinity;
  #triedAt = -Infinity;
  #reading: Promise<void> | undefined;
  /** Store reads made (tests, metrics). */
  reads = 0;

  constructor(o: PeerDirectoryOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  async peer(nodeId: number): Promise<PeerAddress | undefined> {
    if (this.#o.own.includes(nodeId)) return undefined;
    const now = this.#now();
    const known = this.#view.get(nodeId);
    if (known !== undefined && now - this.#fetchedAt < (this.#o.maxAgeMs ?? MAX_AGE_MS)) return known;
    if (this.#reading === undefined && now - this.#triedAt >= (this.#o.minGapMs ?? MIN_GAP_MS)) {
      this.#triedAt = now;
      this.#reading = this.#read().finally(() => (this.#reading = undefined));
    }
    await this.#reading;
    return this.#view.get(nodeId);
  }

  async #read(): Promise<void> {
    this.reads++;
    try {
      const leases = await withDeadline(this.#o.store.list(), this.#o.callTimeoutMs ?? STORE_CALL_TIMEOUT_MS, 'reading the node id leases');
      const now = this.#now();
      const view = new Map<number, PeerAddress>();
      for (const l of leases) {
        if (leaseLive(l, now - ROUTE_GRACE_MS) && !this.#o.own.includes(l.nodeId)) view.set(l.nodeId, { host: l.host, port: l.port });
      }
      this.#view = view;
      this.#fetchedAt = now;
    } catch (err) {
      // Keep the last view: a store hiccup should not stop cancels to peers we already know.
      this.#o.log.warn({ err: (err as Error).message }, 'cannot read the peers’ node id leases; using the last view');
    }
  }
}
