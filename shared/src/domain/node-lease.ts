// A pooler's lease on a cancel-key node id. Behind a load balancer a CancelRequest arrives on a new
// connection that may reach any pooler of the fleet (protocol docs, "Canceling Requests in
// Progress"); the process id of every cancel key names the node that issued it, so the pooler that
// receives it can forward it to that node. Node ids must therefore be unique among the live
// poolers, without anyone configuring them per instance: each pooler leases its id(s) from the
// store with a conditional write, renews the lease while it runs, and the row carries the address
// its peers forward cancels to — the row is that node's heartbeat for cancel routing.
//
// The ids are 10 bits (pooler/src/frontend/cancel-keys.ts); 0 is left to a pooler that runs alone
// without a cluster block, so leases take 1..1023.
import { z } from 'zod';
import { portSchema } from './common.ts';

export const MIN_LEASED_NODE_ID = 1;
export const MAX_NODE_ID = 1023;

export const nodeLeaseSchema = z
  .object({
    nodeId: z.number().int().min(MIN_LEASED_NODE_ID).max(MAX_NODE_ID),
    /**
     * Random per process (never reused): the lease is this process's, not its host's, so a
     * restarted pooler cannot mistake its predecessor's lease for its own.
     */
    holder: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    /** The holder's heartbeat id (for people reading the table). */
    poolerId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/),
    /** Where the holder takes CancelRequests forwarded by its peers (private IP + peer port). */
    host: z.string().min(1).max(255),
    port: portSchema,
    /** Epoch ms after which the id is free for anyone (the holder renews well before). */
    expiresAtMs: z.number().int().nonnegative(),
  })
  .strict();
export type NodeLease = z.infer<typeof nodeLeaseSchema>;

/** Whether the lease is still held at `now` (epoch ms). */
export function leaseLive(lease: Pick<NodeLease, 'expiresAtMs'>, now: number): boolean {
  return lease.expiresAtMs > now;
}
