// Small schemas shared by the domain entities.
import { z } from 'zod';

/** Tenant ids are slugs: safe in DynamoDB keys, SSM paths, log fields and URLs. */
export const tenantIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/, 'must be a slug: [a-z0-9][a-z0-9-]{2,62}');
export type TenantId = z.infer<typeof tenantIdSchema>;

/**
 * The clusterId written into a tenant's encryption context when its destination is a fixed
 * host (no cluster). Reserved: no cluster may be called this, so the two never collide.
 */
export const STATIC_DESTINATION_CLUSTER_ID = 'static';

/**
 * Cluster ids: slugs (they become part of SSM parameter paths `/switchyard/<stage>/clusters/<id>`).
 * `static` is reserved, see STATIC_DESTINATION_CLUSTER_ID.
 */
export const clusterIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a slug: [a-z0-9][a-z0-9-]{0,62}')
  .refine((s) => s !== STATIC_DESTINATION_CLUSTER_ID, `"${STATIC_DESTINATION_CLUSTER_ID}" is reserved`);
export type ClusterId = z.infer<typeof clusterIdSchema>;

export const portSchema = z.number().int().min(1).max(65535);

export const endpointSchema = z.object({ host: z.string().min(1).max(255), port: portSchema }).strict();
export type Endpoint = z.infer<typeof endpointSchema>;

/** ISO-8601 timestamp with offset, as produced by `Date.prototype.toISOString()`. */
export const isoTimestampSchema = z.iso.datetime({ offset: true });

/** Optimistic-lock version: 1 on create, +1 on every successful update. */
export const versionSchema = z.number().int().positive();

/** PostgreSQL identifiers are at most 63 bytes (NAMEDATALEN - 1); we check characters, close enough. */
export const pgNameSchema = z.string().min(1).max(63);

export function sameEndpoint(a: Endpoint | null | undefined, b: Endpoint | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.host === b.host && a.port === b.port;
}

/** Order-insensitive comparison of endpoint lists (RDS lists members in no particular order). */
export function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  const key = (e: Endpoint) => `${e.host}:${e.port}`;
  const sa = a.map(key).sort();
  const sb = b.map(key).sort();
  return sa.every((k, i) => k === sb[i]);
}
