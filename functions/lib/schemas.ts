// Request schemas of the control-plane API, built from the domain schemas so the API, the store and
// the OpenAPI document agree. Every object is strict: an unknown field is a 400, not silently
// dropped (a misspelt `pool.sise` must not look like success).
import { z } from 'zod';
import { MAX_CONNECTIONS_LIMIT } from '../../shared/src/domain/budget.ts';
import { clusterKindSchema, rdsIdentifiersSchema } from '../../shared/src/domain/cluster.ts';
import { clusterIdSchema, endpointSchema, pgNameSchema, portSchema, tenantIdSchema, versionSchema } from '../../shared/src/domain/common.ts';
import { MAX_PAGE_LIMIT } from '../../shared/src/domain/paging.ts';
import { readEndpointSchema, readLoginProblem } from '../../shared/src/domain/read-endpoint.ts';
import { poolSettingsSchema } from '../../shared/src/domain/tenant.ts';
import { InvalidRequestError } from './http-errors.ts';

/**
 * A name that ends up as a PostgreSQL identifier in DDL: at most NAMEDATALEN-1 = 63 BYTES (longer
 * names are silently truncated by the server, which could make two tenants collide) and no NUL.
 */
export const pgIdentifierSchema = pgNameSchema
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 63, 'must be at most 63 bytes')
  .refine((s) => !s.includes('\0'), 'must not contain NUL');

/** Client or destination password supplied by the caller. */
export const passwordSchema = z.string().min(12, 'must be at least 12 characters').max(1024).refine((s) => !s.includes('\0'), 'must not contain NUL');

export const createTenantRequestSchema = z
  .strictObject({
    tenantId: tenantIdSchema,
    client: z.strictObject({
      database: pgNameSchema,
      user: pgNameSchema,
      /** Generated (and returned once) when absent. */
      password: passwordSchema.optional(),
      /** Also store an md5 verifier, for clients that cannot do SCRAM-SHA-256. */
      md5: z.boolean().default(false),
    }),
    destination: z.strictObject({
      clusterId: clusterIdSchema.optional(),
      host: z.string().min(1).max(255).optional(),
      port: portSchema.optional(),
      /** Defaults to client.database. */
      database: pgIdentifierSchema.optional(),
      /** Defaults to client.user. */
      user: pgIdentifierSchema.optional(),
      /** Schema-per-tenant: becomes the server connection's search_path. */
      schema: pgIdentifierSchema.optional(),
      /** Required unless `provision` is true (then the client password is used). */
      password: passwordSchema.optional(),
    }),
    pool: poolSettingsSchema.optional(),
    /** A read-only endpoint: clients log in to `<client.database>_ro` (docs/read-endpoints.md). */
    readEndpoint: readEndpointSchema.optional(),
    /** Create the role and database (or schema) on the target cluster. */
    provision: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    const d = r.destination;
    if ((d.clusterId === undefined) === (d.host === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['destination', 'clusterId'], message: 'exactly one of clusterId or host is required' });
    }
    if (d.port !== undefined && d.host === undefined) {
      ctx.addIssue({ code: 'custom', path: ['destination', 'port'], message: 'port is only allowed with host' });
    }
    if (r.provision && d.clusterId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['provision'], message: 'provisioning needs a destination clusterId (its admin credentials)' });
    }
    if (!r.provision && d.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['destination', 'password'], message: 'required unless provision is true' });
    }
    const readProblem = r.readEndpoint?.enabled === true ? readLoginProblem(r.client) : undefined;
    if (readProblem !== undefined) ctx.addIssue({ code: 'custom', path: ['readEndpoint'], message: readProblem });
  });
export type CreateTenantRequest = z.infer<typeof createTenantRequestSchema>;

/** Pool settings in a PATCH: only the fields given change; null turns an optional timeout off. */
export const poolPatchSchema = z.strictObject({
  mode: z.enum(['transaction', 'session']).optional(),
  size: z.number().int().positive().optional(),
  minIdle: z.number().int().nonnegative().optional(),
  maxClients: z.number().int().positive().optional(),
  connectTimeout: z.number().nonnegative().optional(),
  idleTimeout: z.number().nonnegative().optional(),
  maxLifetime: z.number().nonnegative().optional(),
  checkoutTimeout: z.number().nonnegative().optional(),
  queryTimeout: z.number().nonnegative().nullable().optional(),
  idleInTransactionTimeout: z.number().nonnegative().nullable().optional(),
  /** null turns pinning off (as absent). */
  maxPinned: z.number().int().nonnegative().max(10000).nullable().optional(),
  pinAdvisoryLocks: z.boolean().nullable().optional(),
  pinRole: z.boolean().nullable().optional(),
  /** null: back to the default (off). */
  lazyReset: z.boolean().nullable().optional(),
});
export type PoolPatch = z.infer<typeof poolPatchSchema>;

/**
 * A destination change in a PATCH (moving a tenant, or rotating its destination password). The
 * location moves as a whole: `clusterId` alone, or `host` with an optional `port`; when neither is
 * given the tenant stays where it is. database, user and password replace the stored ones when
 * given; `schema: null` drops the schema (the whole database is the tenant's). The password is
 * re-encrypted whenever the encryption context changes (functions/api/tenants-update.ts).
 */
export const destinationPatchSchema = z
  .strictObject({
    clusterId: clusterIdSchema.optional(),
    host: z.string().min(1).max(255).optional(),
    port: portSchema.optional(),
    database: pgIdentifierSchema.optional(),
    user: pgIdentifierSchema.optional(),
    schema: pgIdentifierSchema.nullable().optional(),
    /** The destination role's password; kept (re-encrypted if need be) when absent. */
    password: passwordSchema.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.clusterId !== undefined && d.host !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['clusterId'], message: 'give clusterId or host, not both' });
    }
    if (d.port !== undefined && d.host === undefined) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'port is only allowed with host (the location moves as a whole)' });
    }
    if (Object.values(d).every((v) => v === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give at least one destination field' });
    }
  });
export type DestinationPatch = z.infer<typeof destinationPatchSchema>;

/** The read endpoint in a PATCH: `enabled` and/or `maxReplicaLagMs` (the bounds of read-endpoint.ts). */
export const readEndpointPatchSchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    maxReplicaLagMs: readEndpointSchema.shape.maxReplicaLagMs.unwrap().optional(),
  })
  .refine((r) => r.enabled !== undefined || r.maxReplicaLagMs !== undefined, { message: 'give enabled and/or maxReplicaLagMs' });
export type ReadEndpointPatch = z.infer<typeof readEndpointPatchSchema>;

export const updateTenantRequestSchema = z.strictObject({
  /** The version the change is based on; or send it as `If-Match: "<version>"`. */
  version: versionSchema.optional(),
  pool: poolPatchSchema.optional(),
  /** suspend (`suspended`) or resume (`active`). */
  status: z.enum(['active', 'suspended']).optional(),
  /** Move the tenant (another cluster, host, database, role) and/or change its destination password. */
  destination: destinationPatchSchema.optional(),
  /** Turn the read endpoint on or off, or change its lag bound; fields not given keep their value. */
  readEndpoint: readEndpointPatchSchema.optional(),
});
export type UpdateTenantRequest = z.infer<typeof updateTenantRequestSchema>;

export const DEFAULT_GRACE_SECONDS = 3600;

export const rotatePasswordRequestSchema = z.strictObject({
  /** Generated (and returned once) when absent. */
  password: passwordSchema.optional(),
  /** How long the previous password keeps working; 0 ends it at once. At most 7 days. */
  graceSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(DEFAULT_GRACE_SECONDS),
  /** Store an md5 verifier too; defaults to what the tenant has now. */
  md5: z.boolean().optional(),
  version: versionSchema.optional(),
});
export type RotatePasswordRequest = z.infer<typeof rotatePasswordRequestSchema>;

const connectionCountSchema = z.number().int().min(1).max(MAX_CONNECTIONS_LIMIT);

export const createClusterRequestSchema = z
  .strictObject({
    clusterId: clusterIdSchema,
    kind: clusterKindSchema,
    /** Required for `static`; for RDS kinds it is discovered through the RDS API when absent. */
    writer: endpointSchema.optional(),
    readers: z.array(endpointSchema).max(64).optional(),
    members: z.array(endpointSchema).max(64).optional(),
    rds: rdsIdentifiersSchema.optional(),
    /** The server's max_connections; asked of the server when the topology can (local), else 100 (docs/fleet.md). */
    maxConnections: connectionCountSchema.optional(),
    /** Server connections all poolers together may hold; default maxConnections minus a reserve. */
    connectionBudget: connectionCountSchema.optional(),
    admin: z
      .union([
        z.strictObject({ user: pgNameSchema, password: z.string().min(1).max(1024) }),
        z.strictObject({
          // RDS-managed master password secrets look like
          // arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-<uuid>-AbCdEf.
          secretArn: z
            .string()
            .max(2048)
            .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)')
            .meta({ description: 'A Secrets Manager secret holding {"username", "password"} as JSON, e.g. the one RDS manages for the master user (rds!cluster-… / rds!db-…)' }),
        }),
      ])
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'static' && c.writer === undefined) {
      ctx.addIssue({ code: 'custom', path: ['writer'], message: 'required for a static cluster' });
    }
    // A Secrets Manager admin is the master secret RDS manages for the cluster's own RDS resource,
    // and its password is only ever sent to the writer RDS reports: never to an address the caller
    // chose (functions/lib/cluster-admin.ts).
    if (c.admin !== undefined && 'secretArn' in c.admin) {
      if (c.kind === 'static') {
        ctx.addIssue({ code: 'custom', path: ['admin', 'secretArn'], message: 'only RDS clusters (aurora, rds-instance) may keep their admin in Secrets Manager; give admin.user and admin.password for a static cluster' });
      } else if (c.writer !== undefined || c.readers !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['writer'], message: 'with admin.secretArn the writer and readers come from RDS; leave them out' });
      }
    }
    if (c.kind === 'aurora' && !c.rds?.clusterIdentifier) {
      ctx.addIssue({ code: 'custom', path: ['rds', 'clusterIdentifier'], message: 'an aurora cluster needs rds.clusterIdentifier' });
    }
    if (c.kind === 'rds-instance' && !c.rds?.instanceIdentifier) {
      ctx.addIssue({ code: 'custom', path: ['rds', 'instanceIdentifier'], message: 'an rds-instance cluster needs rds.instanceIdentifier' });
    }
  });
export type CreateClusterRequest = z.infer<typeof createClusterRequestSchema>;

/** PATCH /clusters/{id}: the connection budget's figures; null clears one (back to its default). */
export const updateClusterRequestSchema = z
  .strictObject({
    maxConnections: connectionCountSchema.nullable().optional(),
    connectionBudget: connectionCountSchema.nullable().optional(),
    /** Expected version (or If-Match). */
    version: versionSchema.optional(),
  })
  .refine((b) => b.maxConnections !== undefined || b.connectionBudget !== undefined, { message: 'give maxConnections and/or connectionBudget' });
export type UpdateClusterRequest = z.infer<typeof updateClusterRequestSchema>;

const limitParam = z
  .string()
  .regex(/^\d{1,4}$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_PAGE_LIMIT));

export const listTenantsQuerySchema = z.strictObject({
  limit: limitParam.optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

export const deleteTenantQuerySchema = z.strictObject({
  purge: z.enum(['true', 'false']).optional(),
});

export const listPoolersQuerySchema = z.strictObject({
  /** Poolers silent for longer are reported as stale and left out of fleet convergence. */
  staleAfterSeconds: z
    .string()
    .regex(/^\d{1,6}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1))
    .optional(),
});

export const emptyQuerySchema = z.strictObject({});

/** Parses request input; failures are a 400 naming each bad field (never echoing its value). */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
  throw new InvalidRequestError(`invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}

/** A tenant id from the path, validated like any input. */
export function tenantIdParam(raw: string | undefined): string {
  return parseRequest(tenantIdSchema, raw, 'tenant id');
}

/**
 * The expected version from `If-Match` (an entity tag "<version>", weak or strong; RFC 9110
 * §13.1.1) and/or the body. Both given and different → 400; neither → undefined.
 */
export function expectedVersion(ifMatch: string | undefined, bodyVersion: number | undefined): number | undefined {
  let fromHeader: number | undefined;
  if (ifMatch !== undefined) {
    const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(ifMatch);
    if (!m) throw new InvalidRequestError('invalid If-Match: expected the tenant version as an entity tag, e.g. "3"', [{ path: 'If-Match', message: 'not a version' }]);
    fromHeader = Number(m[1]);
  }
  if (fromHeader !== undefined && bodyVersion !== undefined && fromHeader !== bodyVersion) {
    throw new InvalidRequestError('If-Match and body version disagree', [{ path: 'version', message: 'differs from If-Match' }]);
  }
  return fromHeader ?? bodyVersion;
}

/** The entity tag we send for a version (strong; RFC 9110 §8.8.3). */
export function etag(version: number): string {
  return `"${version}"`;
}
