// Where a CancelRequest goes (protocol docs, "Canceling Requests in Progress"): the pooler issues
// its clients' BackendKeyData (frontend/cancel-keys.ts), so a cancel names a client, and is
// delivered as a new CancelRequest for the server connection that client holds right now — or
// passed on, unchanged and once, to the peer pooler whose node issued the key.
import { connect as netConnect } from 'node:net';
import type { ServerConnection } from './backend/server.ts';
import type { PeerLookup } from './cluster/peer-directory.ts';
import type { PoolerConfig } from './config/schema.ts';
import { CancelKeys, nodeOf } from './frontend/cancel-keys.ts';
import type { ClientConnection } from './frontend/client.ts';
import type { Logger } from './log.ts';
import * as msg from './net/messages.ts';

/** Cancels being forwarded to peer poolers at once; more are dropped (a CancelRequest costs its sender nothing). */
export const MAX_PEER_CANCELS_IN_FLIGHT = 256;
/**
 * Of those, to one peer address: a peer that does not answer (gone, within the directory's grace)
 * holds each forward for the 5 s cancel timeout, and must not take every other peer's cancels down.
 */
export const MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER = 32;
/** How long a forwarded CancelRequest's connection may stay open. */
const CANCEL_TIMEOUT_MS = 5000;

export class CancelRouter {
  /** This process's cancel-key node (fixed for its lifetime: its clients' keys carry it). */
  readonly nodeId: number;
  private readonly log: Logger;
  private readonly keys: CancelKeys;
  private readonly clientsByKey = new Map<number, ClientConnection>();
  /** The configured peers (`cluster.peers`), read at each forward: a reload may change them. */
  private readonly cluster: () => PoolerConfig['cluster'];
  private readonly peers: PeerLookup | undefined;
  private peerCancelsInFlight = 0;
  /** `host:port` → forwards open to it (entries removed at 0: at most MAX_PEER_CANCELS_IN_FLIGHT). */
  private readonly peerCancelsByAddress = new Map<string, number>();

  constructor(nodeId: number, log: Logger, cluster: () => PoolerConfig['cluster'], peers: PeerLookup | undefined) {
    this.nodeId = nodeId;
    this.log = log;
    this.keys = new CancelKeys(nodeId);
    this.cluster = cluster;
    this.peers = peers;
  }

  /** Issues the client's BackendKeyData: process ids are unique per pooler process and name its node. */
  register(client: ClientConnection): void {
    const key = this.keys.next((pid) => this.clientsByKey.has(pid));
    client.processId = key.processId;
    client.secretKey = key.secretKey;
    this.clientsByKey.set(key.processId, client);
  }

  unregister(client: ClientConnection): void {
    this.clientsByKey.delete(client.processId);
  }

  /**
   * Forwards a CancelRequest to the server connection the client holds right now, if any (or to
   * the peer pooler that issued the key). Resolves when the forwarded connection has closed: the
   * server closes it only after signalling the backend, and the caller keeps the requester's
   * socket open until then, as PostgreSQL does — closing earlier lets a late signal hit the next
   * query on that server connection, possibly another client's (cf. pgbouncer/pgbouncer#717).
   */
  async cancel(processId: number, secretKey: number): Promise<void> {
    const owner = nodeOf(processId);
    if (owner === this.nodeId) {
      await this.cancelOwn(processId, secretKey);
      return;
    }
    // Another pooler issued this key: pass the CancelRequest on to it, unchanged, once. The peer
    // checks the secret itself, so forwarding grants nothing a direct CancelRequest would not.
    const peer = this.cluster()?.peers.find((p) => p.node_id === owner) ?? (await this.peers?.peer(owner));
    if (peer === undefined) {
      this.log.warn({ processId, node: owner }, 'cancel request for a node that is not a known peer dropped');
      return;
    }
    const to = `${peer.host}:${peer.port}`;
    const toPeer = this.peerCancelsByAddress.get(to) ?? 0;
    if (this.peerCancelsInFlight >= MAX_PEER_CANCELS_IN_FLIGHT || toPeer >= MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER) {
      this.log.warn({ processId, node: owner }, 'too many cancel requests being forwarded; dropped');
      return;
    }
    this.peerCancelsInFlight++;
    this.peerCancelsByAddress.set(to, toPeer + 1);
    try {
      await this.send(peer.host, peer.port, processId, secretKey, `peer pooler ${owner}`);
    } finally {
      this.peerCancelsInFlight--;
      const left = this.peerCancelsByAddress.get(to)! - 1;
      if (left === 0) this.peerCancelsByAddress.delete(to);
      else this.peerCancelsByAddress.set(to, left);
    }
  }

  /**
   * A CancelRequest for a key of this node only (from a peer pooler, or relayed by this machine's
   * supervisor): never forwarded again, so a cancel makes at most one hop between poolers and
   * cannot loop. Keys of other nodes are dropped (resolves false).
   */
  async cancelOwn(processId: number, secretKey: number): Promise<boolean> {
    if (nodeOf(processId) !== this.nodeId) return false;
    const client = this.clientsByKey.get(processId);
    if (client === undefined || client.secretKey !== secretKey) {
      this.log.debug({ processId }, 'cancel request for an unknown key dropped');
      return true;
    }
    const server = client.server;
    if (server === null) {
      client.log.debug('cancel request while the client holds no server connection: nothing to cancel');
      return true;
    }
    await this.cancelServerQuery(server);
    return true;
  }

  /** Sends a CancelRequest for whatever `server` is running (protocol docs, "Canceling Requests"). */
  cancelServerQuery(server: ServerConnection): Promise<void> {
    // Counted on the connection until delivered: backend/reset.ts hands it to no other client before.
    server.cancelsInFlight++;
    return this.send(server.host, server.port, server.processId, server.secretKey, `server ${server.id}`).then(() => {
      if (--server.cancelsInFlight > 0) return;
      const next = server.afterCancels;
      server.afterCancels = null;
      next?.();
    });
  }

  private send(host: string, port: number, processId: number, secretKey: number, what: string): Promise<void> {
    return new Promise((resolve) => {
      const s = netConnect({ host, port }, () => s.end(msg.cancelRequest(processId, secretKey)));
      s.on('error', (err) => this.log.warn({ err: err.message, to: what }, 'cancel request could not be delivered'));
      s.on('close', () => resolve());
      s.setTimeout(CANCEL_TIMEOUT_MS, () => s.destroy());
    });
  }
}
