// Pooler-issued BackendKeyData. Poolers run as a fleet behind a load balancer, so a CancelRequest
// (which arrives on a new connection, protocol docs "Canceling Requests in Progress") can reach a
// different pooler process than the one holding the client. The process id therefore says which
// node issued it: bits 20..29 are the node id, bits 0..19 a per-node counter. A node that receives
// a cancel for another node's key forwards the CancelRequest, unchanged, to that node (config
// `cluster.peers`, or the peer port leased with `cluster.node_id: auto`: cluster/node-lease.ts).
//
// The process id is a counter anyone can guess; the secret is what protects a tenant's queries
// from a CancelRequest sent by anyone who can reach a pooler (directly or through a peer, which
// forwards it unchanged and lets the owner check it). So it is the protocol's whole Int32 (32
// bits, negative values included, as PostgreSQL's pg_strong_random key), drawn from the CSPRNG
// for every key.
import { randomFillSync, randomInt } from 'node:crypto';

const COUNTER_BITS = 20;
const COUNTER_MASK = (1 << COUNTER_BITS) - 1;
export const MAX_NODE_ID = 1023;

export function nodeOf(processId: number): number {
  return (processId >>> COUNTER_BITS) & MAX_NODE_ID;
}

export class CancelKeys {
  private readonly nodeId: number;
  private counter = randomInt(1, COUNTER_MASK);

  constructor(nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) throw new RangeError(`node id must be 0..${MAX_NODE_ID}`);
    this.nodeId = nodeId;
  }

  /** A process id of this node not in use (`inUse`), and a random secret. */
  next(inUse: (processId: number) => boolean): { processId: number; secretKey: number } {
    let processId: number;
    do {
      this.counter = (this.counter % COUNTER_MASK) + 1;
      processId = (this.nodeId << COUNTER_BITS) | this.counter;
    } while (inUse(processId));
    return { processId, secretKey: randomSecret() };
  }
}

/** CSPRNG bytes drawn a batch at a time (one syscall per 256 keys, not per login). */
const pool = Buffer.alloc(1024);
let used = pool.length;

function randomSecret(): number {
  if (used + 4 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const v = pool.readInt32BE(used);
  // Spent bytes are zeroed so that a later read of the pool can never see an issued secret.
  pool.fill(0, used, used + 4);
  used += 4;
  return v;
}
