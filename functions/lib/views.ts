// What the API returns. Views are built field by field from the stored records — never by spreading
// a record — so a secret added to a record later cannot leak by default: no verifier, no
// ciphertext, no password appears here (the one-time password is added by the handler that made it).
import { z } from 'zod';
import { clusterKindSchema, rdsIdentifiersSchema, type Cluster } from '../../shared/src/domain/cluster.ts';
import { clusterIdSchema, endpointSchema, isoTimestampSchema, pgNameSchema, portSchema, tenantIdSchema, versionSchema } from '../../shared/src/domain/common.ts';
import { clusterBudgetOf } from '../../shared/src/domain/budget.ts';
import { clusterLeasesViewSchema, fleetLeasesViewSchema } from './budget-views.ts';
import { failoverHistorySchema } from '../../shared/src/domain/failover-history.ts';
import { switchingSchema } from '../../shared/src/domain/switchover.ts';
import type { PoolerStanding } from '../../shared/src/domain/fleet-convergence.ts';
import type { PoolerHeartbeat } from '../../shared/src/domain/heartbeat.ts';
import { poolFiguresSchema } from '../../shared/src/domain/heartbeat.ts';
import { readLoginOf } from '../../shared/src/domain/read-endpoint.ts';
import { poolSettingsSchema, tenantStatusSchema, type Tenant } from '../../shared/src/domain/tenant.ts';

export const tenantViewSchema = z.object({
  tenantId: tenantIdSchema,
  client: z.object({ database: pgNameSchema, user: pgNameSchema }),
  auth: z.object({
    /** An md5 verifier is stored too. */
    md5: z.boolean(),
    /** While set, the password before the last rotation is still accepted until then. */
    previousPasswordExpiresAt: isoTimestampSchema.optional(),
  }),
  destination: z.object({
    clusterId: clusterIdSchema.optional(),
    host: z.string().optional(),
    port: portSchema.optional(),
    database: pgNameSchema,
    user: pgNameSchema,
    schema: pgNameSchema.optional(),
  }),
  pool: poolSettingsSchema,
  /** The read-only endpoint; `database` is the name its clients connect to (`<client.database>_ro`). Absent = off. */
  readEndpoint: z.object({ enabled: z.boolean(), maxReplicaLagMs: z.number().int(), database: pgNameSchema }).optional(),
  status: tenantStatusSchema,
  version: versionSchema,
  createdAt: isoTimestampSchema,
  updatedAt: isoTimestampSchema,
});
export type TenantView = z.infer<typeof tenantViewSchema>;

export function tenantView(t: Tenant): TenantView {
  const d = t.destination;
  const destination: TenantView['destination'] = { database: d.database, user: d.user };
  if (d.clusterId !== undefined) destination.clusterId = d.clusterId;
  if (d.host !== undefined) destination.host = d.host;
  if (d.port !== undefined) destination.port = d.port;
  if (d.schema !== undefined) destination.schema = d.schema;
  const auth: TenantView['auth'] = { md5: t.clientAuth.md5 !== undefined };
  if (t.clientAuth.previous) auth.previousPasswordExpiresAt = t.clientAuth.previous.expiresAt;
  return {
    tenantId: t.tenantId,
    client: { database: t.client.database, user: t.client.user },
    auth,
    destination,
    pool: { ...t.pool },
    ...(t.readEndpoint !== undefined
      ? { readEndpoint: { enabled: t.readEndpoint.enabled, maxReplicaLagMs: t.readEndpoint.maxReplicaLagMs, database: readLoginOf(t.client).database } }
      : {}),
    status: t.status,
    version: t.version,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

export const clusterBudgetViewSchema = z.object({
  /** As set (PATCH /clusters/{id}) or asked of the server, else the default 100. */
  maxConnections: z.number().int().positive(),
  /** Kept back from maxConnections: 10 % (at least 5). */
  reserved: z.number().int().nonnegative(),
  /** Server connections all poolers together may hold to the cluster. */
  budget: z.number().int().nonnegative(),
  /** Whether budget was set explicitly (connectionBudget) rather than derived from maxConnections. */
  explicit: z.boolean(),
});

export const clusterViewSchema = z.object({
  clusterId: clusterIdSchema,
  kind: clusterKindSchema,
  writer: endpointSchema,
  readers: z.array(endpointSchema),
  members: z.array(endpointSchema).optional(),
  rds: rdsIdentifiersSchema.optional(),
  /** Which admin credentials are configured; never the password or its ciphertext. */
  admin: z.union([z.object({ user: pgNameSchema }), z.object({ secretArn: z.string() })]).optional(),
  /** The server-connection budget all poolers together keep to (docs/fleet.md). */
  budget: clusterBudgetViewSchema,
  epoch: z.number().int().nonnegative(),
  lastEventTime: isoTimestampSchema,
  /** The last writer changes, oldest first: what found each one and when each phase happened. */
  failovers: failoverHistorySchema.optional(),
  /** A planned switchover in progress: the poolers hold new transactions of its tenants (docs/deploy.md "Planned switchover"). */
  switching: switchingSchema.optional(),
  version: versionSchema,
  createdAt: isoTimestampSchema,
  updatedAt: isoTimestampSchema,
});
export type ClusterView = z.infer<typeof clusterViewSchema>;

/** GET /clusters/{id}: the view with its tenants' sizes and each pooler's share of the budget. */
export const clusterDetailSchema = clusterViewSchema.extend({ leases: clusterLeasesViewSchema });

export function clusterView(c: Cluster): ClusterView {
  const v: ClusterView = {
    clusterId: c.clusterId,
    kind: c.kind,
    writer: { ...c.writer },
    readers: c.readers.map((r) => ({ ...r })),
    budget: clusterBudgetOf(c),
    epoch: c.epoch,
    lastEventTime: c.lastEventTime,
    version: c.version,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
  if (c.members) v.members = c.members.map((m) => ({ ...m }));
  if (c.rds) v.rds = { ...c.rds };
  if (c.failovers) v.failovers = c.failovers.map((f) => ({ ...f, from: { ...f.from }, to: { ...f.to } }));
  if (c.admin) v.admin = 'secretArn' in c.admin ? { secretArn: c.admin.secretArn } : { user: c.admin.user };
  if (c.switching) v.switching = { ...c.switching };
  return v;
}

export const poolerViewSchema = z.object({
  poolerId: z.string(),
  instanceId: z.string().optional(),
  appliedConfigVersion: z.number().int().nonnegative(),
  lastSeen: isoTimestampSchema,
  /** Has applied the current config version. */
  converged: z.boolean(),
  /** Silent for longer than staleAfterSeconds: left out of the fleet's convergence. */
  stale: z.boolean(),
  /** Its fleet budget lease (docs/fleet.md), when it holds a live one. */
  lease: z.object({ expiresAt: isoTimestampSchema, inEffect: z.boolean() }).optional(),
  /** stale, no-lease (others hold budget leases, it none: it uses no server connections), rebalancing, or ok. */
  health: z.enum(['ok', 'rebalancing', 'no-lease', 'stale']).optional(),
});
export type PoolerView = z.infer<typeof poolerViewSchema>;

/** `standing` from shared/src/domain/fleet-convergence.ts (poolerStanding / fleetConvergence). */
export function poolerView(h: PoolerHeartbeat, standing: PoolerStanding): PoolerView {
  const v: PoolerView = {
    poolerId: h.poolerId,
    appliedConfigVersion: h.appliedConfigVersion,
    lastSeen: h.lastSeen,
    converged: standing.converged,
    stale: standing.stale,
  };
  if (h.instanceId !== undefined) v.instanceId = h.instanceId;
  return v;
}

export const poolersResponseSchema = z.object({
  configVersion: z.number().int().nonnegative(),
  /** Every live (non-stale) pooler has applied configVersion. */
  converged: z.boolean(),
  poolers: z.array(poolerViewSchema),
  /** Every fleet budget lease, in the order the budgets are split (docs/fleet.md). */
  budgets: fleetLeasesViewSchema.optional(),
});
export type PoolersResponse = z.infer<typeof poolersResponseSchema>;

export const connectionCountsSchema = z.object({
  total: z.number().int().nonnegative(),
  active: z.number().int().nonnegative(),
  idle: z.number().int().nonnegative(),
  idleInTransaction: z.number().int().nonnegative(),
});

export const tenantMetricsSchema = z.object({
  tenantId: tenantIdSchema,
  target: z.object({
    /** pg_database_size of the destination database (shared with other tenants in schema mode). */
    databaseSizeBytes: z.number().int().nonnegative(),
    /** Schema-per-tenant: total size of the tenant's schema's relations. */
    schemaSizeBytes: z.number().int().nonnegative().optional(),
    /** pg_stat_activity sessions of the destination role in the destination database. */
    connections: connectionCountsSchema,
  }),
  pools: z.object({
    /** Sums over the poolers that reported this tenant. */
    total: poolFiguresSchema,
    poolers: z.array(z.object({ poolerId: z.string(), lastSeen: isoTimestampSchema, figures: poolFiguresSchema })),
  }),
});
export type TenantMetrics = z.infer<typeof tenantMetricsSchema>;

export const tenantPageSchema = z.object({ items: z.array(tenantViewSchema), cursor: z.string().optional() });

/**
 * A 2xx response whose change is stored but could not be announced to the poolers
 * (functions/lib/announce.ts): the change stands; poolers load it with the next published change.
 */
export const apiWarningSchema = z
  .object({ code: z.literal('CONFIG_NOT_PUBLISHED'), message: z.string() })
  .meta({ description: 'Present only when the change is stored but the poolers could not be told yet (docs/errors.md, "Warnings")' });

export const tenantWithPasswordSchema = z.object({
  tenant: tenantViewSchema,
  /** The client password; shown in this response only. */
  password: z.string().optional(),
  warning: apiWarningSchema.optional(),
});

/** PATCH /tenants/{id}: the tenant, and a warning when the change could not be announced. */
export const tenantUpdatedSchema = tenantViewSchema.extend({ warning: apiWarningSchema.optional() });

export const tenantDeletedSchema = z.object({
  tenantId: tenantIdSchema,
  deleted: z.literal(true),
  purged: z.object({}).passthrough().nullable(),
  warning: apiWarningSchema.optional(),
});

/** POST /clusters: the cluster, and a warning when its targets or the version could not be published. */
export const clusterCreatedSchema = clusterViewSchema.extend({ warning: apiWarningSchema.optional() });

export const clusterDeletedSchema = z.object({ clusterId: clusterIdSchema, deleted: z.literal(true), warning: apiWarningSchema.optional() });
