// `cluster: { node_id: auto, peer_port, advertise_host }` for one machine (the single process, or
// the supervisor of `--workers N`): the peer port where other poolers forward CancelRequests for
// this machine's nodes (a CancelRelay that never forwards again), the leased node ids with that
// port's address (node-lease.ts), and the directory of the other machines' addresses
// (peer-directory.ts). docs/workers.md, "Cancel requests".
import { ConfigError } from '../config/snapshot.ts';
import type { PoolerConfig } from '../config/schema.ts';
import type { NodeLeaseStore } from '../../../shared/src/ports/store.ts';
import type { Logger } from '../log.ts';
import { CancelRelay, type DeliverCancel } from './cancel-relay.ts';
import { NodeIdLease } from './node-lease.ts';
import { PeerDirectory } from './peer-directory.ts';

export interface AutoNodeOptions {
  settings: PoolerConfig;
  store: NodeLeaseStore;
  /** Node ids to lease: 1, or the number of workers. */
  count: number;
  poolerId: string;
  log: Logger;
  /** Delivers a cancel that arrived on the peer port to the owner of its node (resolves false if none here). */
  deliver: DeliverCancel;
}

export interface AutoNode {
  readonly ids: readonly number[];
  readonly peers: PeerDirectory;
  readonly relay: CancelRelay;
  readonly lease: NodeIdLease;
  /** Ends the lease and closes the peer port (after the pooler drained). */
  close(): Promise<void>;
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0']);

/** The host peers reach this machine's peer port at. */
export function advertisedHost(settings: PoolerConfig): string {
  const explicit = settings.cluster?.advertise_host;
  if (explicit !== undefined) return explicit;
  if (WILDCARDS.has(settings.listen.host)) {
    throw new ConfigError(`cluster.advertise_host is needed with node_id auto: listen.host ${settings.listen.host || '""'} is not an address other poolers can reach`);
  }
  return settings.listen.host;
}

export async function startAutoNode(o: AutoNodeOptions): Promise<AutoNode> {
  const cluster = o.settings.cluster;
  if (cluster?.node_id !== 'auto' || cluster.peer_port === undefined) throw new ConfigError('startAutoNode needs cluster.node_id auto and cluster.peer_port');
  const host = advertisedHost(o.settings);
  const relay = await CancelRelay.start(o.deliver, o.log, { host: o.settings.listen.host, port: cluster.peer_port });
  let lease: NodeIdLease;
  try {
    lease = await NodeIdLease.acquire({ store: o.store, count: o.count, poolerId: o.poolerId, address: { host, port: relay.port }, log: o.log });
  } catch (err) {
    await relay.close();
    throw err;
  }
  lease.start();
  const peers = new PeerDirectory({ store: o.store, log: o.log, own: lease.ids });
  return {
    ids: lease.ids,
    peers,
    relay,
    lease,
    async close() {
      await lease.release();
      await relay.close();
    },
  };
}
