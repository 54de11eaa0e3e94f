// A cluster's recent writer changes, kept ON the cluster record (bounded), so the console can draw
// each failover as a timeline without a new table, index or IAM permission: the record is written
// by the same optimistic-locked update that stores the new writer (functions/failover/
// sync-cluster.ts), on AWS and locally alike. The local stack, which drives the whole failover
// itself, adds the phases only it can see (primary stopped, standby promoted, pooler switched:
// local/failover.ts).
import { z } from 'zod';
import { endpointSchema, isoTimestampSchema } from './common.ts';

/** Older records are dropped: the record stays small (DynamoDB items are limited to 400 KB). */
export const MAX_FAILOVER_RECORDS = 20;

export const failoverRecordSchema = z
  .object({
    /** The epoch the change produced. */
    epoch: z.number().int().nonnegative(),
    from: endpointSchema,
    to: endpointSchema,
    /** What found the change: the RDS event id (e.g. RDS-EVENT-0049), or `reconcile`. */
    cause: z.string().min(1).max(64),
    /** The event's own time (detail.Date), or the reconcile's run time. */
    eventTime: isoTimestampSchema,
    /** When the control plane received it (handler start). */
    receivedAt: isoTimestampSchema,
    /** When the new writer was stored (and, right after, its targets published). */
    appliedAt: isoTimestampSchema,
    /** The config version announced for it (set once known). */
    configVersion: z.number().int().nonnegative().optional(),
    // Phases measured by the local stack's "fail over" (local/failover.ts); absent on AWS.
    startedAt: isoTimestampSchema.optional(),
    primaryStoppedAt: isoTimestampSchema.optional(),
    /** The new primary accepts writes. */
    promotedAt: isoTimestampSchema.optional(),
    /** Every tenant of the cluster is routed to the new writer by the pooler. */
    poolersSwitchedAt: isoTimestampSchema.optional(),
    /** The pooler applied the announced config version. */
    poolersAppliedAt: isoTimestampSchema.optional(),
  })
  .strict();
export type FailoverRecord = z.infer<typeof failoverRecordSchema>;

export const failoverHistorySchema = z.array(failoverRecordSchema).max(MAX_FAILOVER_RECORDS);

/** `history` plus `record`, newest last, at most MAX_FAILOVER_RECORDS. */
export function appendFailover(history: readonly FailoverRecord[] | undefined, record: FailoverRecord): FailoverRecord[] {
  return [...(history ?? []), record].slice(-MAX_FAILOVER_RECORDS);
}

/** `history` with the record of `epoch` extended by `phases` (unchanged when there is none). */
export function annotateFailover(history: readonly FailoverRecord[] | undefined, epoch: number, phases: Partial<Omit<FailoverRecord, 'epoch'>>): FailoverRecord[] | undefined {
  if (!history?.some((r) => r.epoch === epoch)) return undefined;
  return history.map((r) => (r.epoch === epoch ? { ...r, ...Object.fromEntries(Object.entries(phases).filter(([, v]) => v !== undefined)) } : r));
}
