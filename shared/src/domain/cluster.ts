// Cluster: one row per target database cluster (docs/architecture.md "Cluster"). The writer/readers
// are what the control plane last observed; `epoch` grows by one with every writer change and
// `lastEventTime` is the time of the event that caused the last change (see writer-change.ts).
import { z } from 'zod';
import { clusterIdSchema, endpointSchema, isoTimestampSchema, pgNameSchema, versionSchema } from './common.ts';
import { failoverHistorySchema } from './failover-history.ts';
import { switchingSchema } from './switchover.ts';

/** A number of server connections (PostgreSQL's max_connections is at most 262143). */
const connectionCountSchema = z.number().int().min(1).max(262_143);

export const clusterKindSchema = z.enum(['aurora', 'rds-instance', 'static']);
export type ClusterKind = z.infer<typeof clusterKindSchema>;

/** Admin credentials used for provisioning: our own ciphertext, or a Secrets Manager secret. */
export const clusterAdminSchema = z.union([
  z
    .object({
      user: pgNameSchema,
      /** SecretBox ciphertext, context `clusterAdminSecretContext(clusterId)`. */
      passwordCiphertext: z.string().min(1),
    })
    .strict(),
  z.object({ secretArn: z.string().startsWith('arn:') }).strict(),
]);
export type ClusterAdmin = z.infer<typeof clusterAdminSchema>;

/** What the RDS API needs to describe the cluster (RDS identifiers are case-insensitive, stored lower-case). */
export const rdsIdentifiersSchema = z
  .object({
    /** DBClusterIdentifier (kind aurora). */
    clusterIdentifier: z.string().min(1).max(63).optional(),
    /** DBInstanceIdentifier (kind rds-instance). */
    instanceIdentifier: z.string().min(1).max(63).optional(),
    /** When the cluster is in another region than the control plane. */
    region: z.string().min(1).optional(),
  })
  .strict();
export type RdsIdentifiers = z.infer<typeof rdsIdentifiersSchema>;

const clusterFields = {
  clusterId: clusterIdSchema,
  kind: clusterKindSchema,
  writer: endpointSchema,
  readers: z.array(endpointSchema).default([]),
  admin: clusterAdminSchema.optional(),
  /** Local / static topology: every server that may be the writer; probed with pg_is_in_recovery(). */
  members: z.array(endpointSchema).optional(),
  rds: rdsIdentifiersSchema.optional(),
  /** The server's max_connections (budget.ts: the budget's basis; default 100). */
  maxConnections: connectionCountSchema.optional(),
  /** Server connections all poolers together may hold; default maxConnections minus a reserve (budget.ts). */
  connectionBudget: connectionCountSchema.optional(),
};

function checkKind(c: { kind: ClusterKind; rds?: RdsIdentifiers | undefined }, ctx: z.RefinementCtx): void {
  if (c.kind === 'aurora' && !c.rds?.clusterIdentifier) {
    ctx.addIssue({ code: 'custom', message: 'an aurora cluster needs rds.clusterIdentifier', path: ['rds', 'clusterIdentifier'] });
  }
  if (c.kind === 'rds-instance' && !c.rds?.instanceIdentifier) {
    ctx.addIssue({ code: 'custom', message: 'an rds-instance cluster needs rds.instanceIdentifier', path: ['rds', 'instanceIdentifier'] });
  }
}

/** A stored cluster. */
export const clusterSchema = z
  .object({
    ...clusterFields,
    /** Grows by one on every writer change; never decreases. */
    epoch: z.number().int().nonnegative(),
    /** Time of the event behind the last change; older events are ignored. */
    lastEventTime: isoTimestampSchema,
    /** The last writer changes, oldest first (failover-history.ts). */
    failovers: failoverHistorySchema.optional(),
    /** A planned switchover in progress (switchover.ts); null or absent when none. */
    switching: switchingSchema.nullable().optional(),
    version: versionSchema,
    createdAt: isoTimestampSchema,
    updatedAt: isoTimestampSchema,
  })
  .strict()
  .superRefine(checkKind);
export type Cluster = z.infer<typeof clusterSchema>;

/** Input of ClusterStore.create: the store sets epoch = 0 (unless given), version = 1, timestamps; lastEventTime defaults to now. */
export const newClusterSchema = z
  .object({
    ...clusterFields,
    epoch: z.number().int().nonnegative().default(0),
    lastEventTime: isoTimestampSchema.optional(),
  })
  .strict()
  .superRefine(checkKind);
export type NewCluster = z.output<typeof newClusterSchema>;
export type NewClusterInput = z.input<typeof newClusterSchema>;

/** Input of ClusterStore.update: each field given replaces the stored one whole. */
export const clusterPatchSchema = z
  .object({
    writer: endpointSchema,
    readers: z.array(endpointSchema),
    admin: clusterAdminSchema,
    members: z.array(endpointSchema),
    rds: rdsIdentifiersSchema,
    epoch: z.number().int().nonnegative(),
    lastEventTime: isoTimestampSchema,
    failovers: failoverHistorySchema,
    /** null clears the mark. */
    switching: switchingSchema.nullable(),
    /** null clears it (back to the default). */
    maxConnections: connectionCountSchema.nullable(),
    connectionBudget: connectionCountSchema.nullable(),
  })
  .partial()
  .strict();
export type ClusterPatch = z.infer<typeof clusterPatchSchema>;
