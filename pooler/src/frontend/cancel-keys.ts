// Pooler-issued BackendKeyData. Poolers run as a fleet behind a load balancer, so a CancelRequest
// (which arrives on a new connection, protocol docs "Canceling Requests in Progress") can reach a
// different pooler process than the one holding the client. The process id therefore says which
// node issued it: bits 20..29 are the node id, bits 0..19 a per-node counter; the secret is random.
// A node that receives a cancel for another node's key forwards the CancelRequest, unchanged, to
// that node's client port (config `cluster.peers`).
import { randomInt } from 'node:crypto';

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
    return { processId, secretKey: randomInt(0, 0x7fffffff) };
  }
}
