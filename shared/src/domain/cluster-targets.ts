// What the control plane publishes per cluster for the poolers (SSM parameter
// `/switchyard/<stage>/clusters/<clusterId>`, locally a JSON file): the current writer and
// readers, the epoch and the time of the event behind it. Poolers ignore targets whose epoch is
// lower than the one they already hold. `switching` marks a planned switchover (switchover.ts).
import { z } from 'zod';
import type { Cluster } from './cluster.ts';
import { endpointSchema, isoTimestampSchema } from './common.ts';
import { switchingSchema } from './switchover.ts';

export const clusterTargetsSchema = z
  .object({
    writer: endpointSchema,
    readers: z.array(endpointSchema),
    epoch: z.number().int().nonnegative(),
    eventTime: isoTimestampSchema,
    /** A planned switchover in progress: poolers hold new transactions (domain/switchover.ts). */
    switching: switchingSchema.optional(),
  })
  .strict();
export type ClusterTargets = z.infer<typeof clusterTargetsSchema>;

export function clusterTargetsOf(cluster: Cluster): ClusterTargets {
  return {
    writer: { ...cluster.writer },
    readers: cluster.readers.map((r) => ({ ...r })),
    epoch: cluster.epoch,
    eventTime: cluster.lastEventTime,
    ...(cluster.switching ? { switching: { ...cluster.switching } } : {}),
  };
}
