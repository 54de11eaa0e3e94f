// Tenant: one row per client-facing login (docs/architecture.md "Tenant"). The zod schemas are the
// types. `tenantSchema` is the stored shape; `newTenantSchema` is what a store's `create` takes
// (the store assigns version and timestamps); `tenantPatchSchema` is what `update` takes.
import { z } from 'zod';
import { parseVerifier } from '../auth/verifier.ts';
import { readEndpointSchema, readLoginOf, type ReadEndpoint } from './read-endpoint.ts';
import {
  STATIC_DESTINATION_CLUSTER_ID,
  clusterIdSchema,
  isoTimestampSchema,
  pgNameSchema,
  portSchema,
  tenantIdSchema,
  versionSchema,
} from './common.ts';

/** What the client puts in its connection string; the pair is unique across tenants. */
export const clientLoginSchema = z.object({ database: pgNameSchema, user: pgNameSchema }).strict();
export type ClientLogin = z.infer<typeof clientLoginSchema>;

/**
 * PostgreSQL-format verifiers (as in pg_authid.rolpassword), never a plaintext password:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802 §3, RFC 7677) and
 * `md5<32 hex>` = md5(password || user). Built by shared/src/auth/verifier.ts.
 */
export const scramVerifierSchema = z.string().refine((v) => verifierKind(v) === 'scram', 'must be a SCRAM-SHA-256 verifier');
export const md5VerifierSchema = z.string().refine((v) => verifierKind(v) === 'md5', 'must be an md5 verifier');

/** The verifier's kind, or undefined when it is not one (the message never echoes the value). */
function verifierKind(v: string): 'scram' | 'md5' | undefined {
  try {
    return parseVerifier(v).kind;
  } catch {
    return undefined;
  }
}

export const clientAuthSchema = z
  .object({
    scram: scramVerifierSchema,
    md5: md5VerifierSchema.optional(),
    /** The verifiers before the last rotation, accepted too until `expiresAt` (rotation grace). */
    previous: z
      .object({ scram: scramVerifierSchema, md5: md5VerifierSchema.optional(), expiresAt: isoTimestampSchema })
      .strict()
      .optional(),
  })
  .strict();
export type ClientAuth = z.infer<typeof clientAuthSchema>;

/**
 * Where the tenant's server connections go: either a cluster (resolved through the cluster's
 * published targets, so failovers move it) or a fixed host/port. Exactly one of the two.
 */
export const destinationSchema = z
  .object({
    clusterId: clusterIdSchema.optional(),
    host: z.string().min(1).max(255).optional(),
    port: portSchema.optional(),
    database: pgNameSchema,
    user: pgNameSchema,
    /** Becomes the server connection's search_path. */
    schema: pgNameSchema.optional(),
    /** SecretBox ciphertext of the destination password, context `tenantSecretContext(...)`. */
    passwordCiphertext: z.string().min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.clusterId === undefined) === (d.host === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'exactly one of clusterId or host is required', path: ['clusterId'] });
    }
    if (d.port !== undefined && d.host === undefined) {
      ctx.addIssue({ code: 'custom', message: 'port is only allowed with host', path: ['port'] });
    }
  });
export type Destination = z.infer<typeof destinationSchema>;

/**
 * The longest duration: 2^31-1 ms in whole seconds (about 24.8 days), the longest a Node.js timer
 * waits; a longer delay fires at once. The pooler's config (pooler/src/config/schema.ts) has the
 * same bound, so a tenant the API accepts is never one the pooler must skip.
 */
export const MAX_DURATION_SECONDS = 2_147_483;
const seconds = z
  .number()
  .nonnegative()
  .max(MAX_DURATION_SECONDS, `must be at most ${MAX_DURATION_SECONDS} seconds (about 24.8 days, the longest a timer can wait)`);

/**
 * Pool settings; the same meaning and defaults as `pool` in pooler/src/config/schema.ts (there in
 * snake_case). Durations in seconds. An absent queryTimeout / idleInTransactionTimeout means off.
 */
export const poolSettingsSchema = z
  .object({
    mode: z.enum(['transaction', 'session']).default('transaction'),
    size: z.number().int().positive().default(20),
    minIdle: z.number().int().nonnegative().default(0),
    maxClients: z.number().int().positive().default(1000),
    connectTimeout: seconds.default(5),
    idleTimeout: seconds.default(600),
    maxLifetime: seconds.default(3600),
    checkoutTimeout: seconds.default(30),
    queryTimeout: seconds.optional(),
    idleInTransactionTimeout: seconds.optional(),
    /**
     * Transaction mode: clients that may be pinned to a server connection at once while they hold
     * state that cannot be replayed (temp tables, WITH HOLD cursors; docs/transaction-mode.md
     * "Pinning"). Absent or 0: pinning off, such state is wiped after each transaction.
     */
    maxPinned: z.number().int().nonnegative().max(10000).optional(),
    /** With maxPinned: session advisory locks pin too (a read of pg_locks per transaction). */
    pinAdvisoryLocks: z.boolean().optional(),
    /** With maxPinned: SET ROLE / SET SESSION AUTHORIZATION pin instead of being wiped. */
    pinRole: z.boolean().optional(),
    /** Transaction mode: reset a connection only when it changes hands (absent = off; docs/transaction-mode.md "Lazy reset"). */
    lazyReset: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.minIdle <= p.size, { message: 'minIdle must not exceed size', path: ['minIdle'] });
export type PoolSettings = z.infer<typeof poolSettingsSchema>;
export type PoolSettingsInput = z.input<typeof poolSettingsSchema>;

export const tenantStatusSchema = z.enum(['active', 'suspended', 'deleting']);
export type TenantStatus = z.infer<typeof tenantStatusSchema>;

const tenantFields = {
  tenantId: tenantIdSchema,
  client: clientLoginSchema,
  clientAuth: clientAuthSchema,
  destination: destinationSchema,
  pool: poolSettingsSchema,
  status: tenantStatusSchema,
  /** A read-only endpoint, login `<client.database>_ro` (read-endpoint.ts); absent = none. */
  readEndpoint: readEndpointSchema.optional(),
};

/** A stored tenant. */
export const tenantSchema = z
  .object({ ...tenantFields, version: versionSchema, createdAt: isoTimestampSchema, updatedAt: isoTimestampSchema })
  .strict();
export type Tenant = z.infer<typeof tenantSchema>;

/** Input of TenantStore.create: the store sets version = 1, createdAt, updatedAt. */
export const newTenantSchema = z
  .object({
    ...tenantFields,
    status: tenantStatusSchema.default('active'),
    pool: poolSettingsSchema.default(() => poolSettingsSchema.parse({})),
  })
  .strict();
export type NewTenant = z.output<typeof newTenantSchema>;
export type NewTenantInput = z.input<typeof newTenantSchema>;

/** Input of TenantStore.update: each field given REPLACES the stored one whole (read, modify, write). */
export const tenantPatchSchema = z
  .object({
    client: clientLoginSchema,
    clientAuth: clientAuthSchema,
    destination: destinationSchema,
    pool: poolSettingsSchema,
    status: tenantStatusSchema,
    readEndpoint: readEndpointSchema,
  })
  .partial()
  .strict();
export type TenantPatch = z.infer<typeof tenantPatchSchema>;

/**
 * The key of the client-login uniqueness guard: `<database>#<user>`, with '%' and '#' inside the
 * names percent-encoded so that ("a#b", "c") and ("a", "b#c") stay distinct.
 */
export function loginKey(login: ClientLogin): string {
  const esc = (s: string) => s.replaceAll('%', '%25').replaceAll('#', '%23');
  return `${esc(login.database)}#${esc(login.user)}`;
}

/** The login keys a tenant claims: its login, and its read login when the read endpoint is on. */
export function claimedLoginKeys(t: { client: ClientLogin; readEndpoint?: ReadEndpoint | undefined }): string[] {
  const keys = [loginKey(t.client)];
  if (t.readEndpoint?.enabled === true) keys.push(loginKey(readLoginOf(t.client)));
  return keys;
}

/**
 * KMS encryption context (and local AAD) of a tenant's destination password:
 * `{ tenantId, clusterId }`, with clusterId = "static" for a fixed-host destination. KMS rejects
 * empty context values, hence a literal rather than ''. Binding the ciphertext to both means a
 * ciphertext copied to another tenant, or a tenant re-pointed to another cluster, fails to decrypt
 * (a destination change re-encrypts: functions/lib/destination-change.ts).
 */
export function tenantSecretContext(tenantId: string, destination: Pick<Destination, 'clusterId'>): EncryptionContext {
  return { tenantId, clusterId: destination.clusterId ?? STATIC_DESTINATION_CLUSTER_ID };
}

/**
 * Encryption context for a cluster's admin password: `{ clusterId }` alone. Tenant contexts always
 * carry tenantId, so the two never match each other; and the KMS key policy allows only the keys
 * tenantId and clusterId (stacks/permissions.ts), so no extra "purpose" key.
 */
export function clusterAdminSecretContext(clusterId: string): EncryptionContext {
  return { clusterId };
}

/** Non-empty string → string map; bound to a ciphertext (KMS EncryptionContext / AES-GCM AAD). */
export type EncryptionContext = Readonly<Record<string, string>>;

/** Is the tenant routed through this cluster? */
export function tenantClusterId(t: Pick<Tenant, 'destination'>): string | undefined {
  return t.destination.clusterId;
}
