// The pooler's configuration file (YAML), validated with zod. Every config source (file, local
// control plane, AWS) produces this same shape; `snapshot.ts` turns it into the immutable routing
// snapshot the proxy reads. Durations are in seconds (as in PgBouncer), sizes in bytes.
import { z } from 'zod';
import { MAX_DURATION_SECONDS } from '../../../shared/src/domain/tenant.ts';
import { DEFAULT_SWITCHOVER_SECONDS, MAX_SWITCHOVER_SECONDS } from '../../../shared/src/domain/switchover.ts';
import { textProblem } from '../../../shared/src/domain/text.ts';
import { DEFAULT_MAX_SERVER_SCRAM_ITERATIONS } from '../auth/scram-keys.ts';
import { adminSchema } from './admin-schema.ts';
import { metricsSchema } from './metrics-schema.ts';
import { readEndpointSchema } from './read-endpoint-schema.ts';
import { listenTlsSchema, targetTlsSchema } from './tls-schema.ts';

/**
 * The longest a duration may be: 2^31-1 ms, the longest a Node.js timer waits (a longer delay fires
 * at once, after a warning), in whole seconds: about 24.8 days. The control plane's bound too.
 */
export { MAX_DURATION_SECONDS };
const seconds = z
  .number()
  .nonnegative()
  .max(MAX_DURATION_SECONDS, `must be at most ${MAX_DURATION_SECONDS} seconds (about 24.8 days, the longest a timer can wait)`);

export const poolSettingsSchema = z
  .object({
    mode: z.enum(['transaction', 'session']).default('transaction'),
    /** Maximum server connections for this tenant. */
    size: z.number().int().positive().default(20),
    /** Server connections kept open even when idle. */
    min_idle: z.number().int().nonnegative().default(0),
    /** Maximum client connections for this tenant. */
    max_clients: z.number().int().positive().default(1000),
    /** Seconds to establish and authenticate a server connection. */
    connect_timeout: seconds.default(5),
    /** Seconds an unused server connection stays open (above min_idle). */
    idle_timeout: seconds.default(600),
    /** Seconds after which a server connection is closed when next idle. */
    max_lifetime: seconds.default(3600),
    /** Seconds a client waits in the checkout queue before it gets an error. */
    checkout_timeout: seconds.default(30),
    /** Seconds a single query may run (0 = off). */
    query_timeout: seconds.default(0),
    /** Seconds a client may stay idle inside a transaction (0 = off). */
    idle_in_transaction_timeout: seconds.default(0),
    /** Seconds a client may stay connected without a transaction in progress (0 = off). */
    client_idle_timeout: seconds.default(0),
    /**
     * Check that each new server connection is the writer (not a standby) before using it, and ask
     * the config source for fresh targets when it is not (backend/writer-check.ts). Absent = off;
     * the local and AWS sources turn it on for cluster destinations.
     */
    check_writer: z.boolean().optional(),
    /**
     * Set by the local and AWS sources while the tenant's cluster is in a planned switchover
     * (docs/deploy.md "Planned switchover"): until this time new transactions queue and open ones
     * finish; then, or when the source clears it, queued clients go on (backend/switchover.ts).
     */
    switchover_until: z.iso.datetime({ offset: true }).optional(),
    /**
     * Transaction mode: clients that may be pinned to a server connection at once, holding state
     * that cannot be replayed (docs/transaction-mode.md, "Pinning"). Absent or 0: pinning off, that
     * state is wiped at the end of each transaction as before. At most the pool size counts.
     */
    max_pinned: z.number().int().nonnegative().max(10000).optional(),
    /** With max_pinned: session advisory locks pin too (costs a read of pg_locks per transaction). */
    pin_advisory_locks: z.boolean().optional(),
    /** With max_pinned: SET ROLE / SET SESSION AUTHORIZATION pin instead of being wiped. */
    pin_role: z.boolean().optional(),
    /**
     * Transaction mode: a client's dirty server connection is parked for it, unreset, while no
     * other client waits (backend/pool.ts park; docs/transaction-mode.md "The reset"). Opt-in
     * (default off): a parked session's advisory locks stay visible to the tenant's other clients.
     */
    lazy_reset: z.boolean().optional(),
  })
  .strict();

/**
 * A name sent in a start-up packet (a C string: NUL would cut it, and two tenants ("a\0b", "c") and
 * ("a", "b\0c") would claim one login) or logged: plain text as the control plane stores it
 * (shared/src/domain/text.ts: no control characters, no unpaired surrogates).
 */
const nameString = z
  .string()
  .min(1)
  .superRefine((s, ctx) => {
    const problem = textProblem(s);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const targetSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
    database: nameString,
    user: nameString,
    /** The destination password; prefer password_file so the config holds no secret. */
    password: z.string().optional(),
    password_file: z.string().optional(),
    /** TLS toward this server, libpq sslmode semantics; default disable (docs/tls.md). */
    tls: targetTlsSchema.optional(),
  })
  .strict();

export const tenantSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/, 'must be a slug: [a-z0-9][a-z0-9-]{2,62}'),
    /** The database name the client puts in its connection string. */
    database: nameString,
    /** The user name the client puts in its connection string. */
    user: nameString,
    /** PostgreSQL-format verifiers (SCRAM-SHA-256$... or md5...); several during a password rotation. */
    verifiers: z.array(z.string().min(1)).min(1),
    /**
     * What clients are asked for (the protocol lets the server pick one method): `md5` offers
     * AuthenticationMD5Password, checked against the md5 verifiers (for clients that cannot do
     * SCRAM); `scram-sha-256` offers SASL. Absent: SCRAM when there is a SCRAM verifier, else md5.
     */
    auth_method: z.enum(['scram-sha-256', 'md5']).optional(),
    target: targetSchema,
    /** Becomes the server connection's search_path. */
    schema: nameString.optional(),
    status: z.enum(['active', 'suspended']).default('active'),
    pool: poolSettingsSchema.default(() => poolSettingsSchema.parse({})),
    /** A read-only endpoint: login `<database>_ro` (config/read-endpoint-schema.ts); absent = none. */
    read_endpoint: readEndpointSchema.optional(),
  })
  .strict();

const limitsSchema = z
  .object({
    /** Largest protocol message accepted from a client (length field), bytes. */
    max_message_size: z.number().int().min(1024).default(256 * 1024 * 1024),
    /** Seconds SIGTERM waits for transactions to finish before closing everything. */
    shutdown_timeout: seconds.default(30),
    /**
     * Client connections open at once, logged in or not (PgBouncer's max_client_conn): more get
     * FATAL 53300 at once. Each costs a file descriptor; keep it below `ulimit -n`.
     */
    max_client_conn: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Connections from one address (IPv4, or IPv6 /64) that have not logged in yet; more get FATAL
     * 53300 at once. Bounds what one host can hold with connections that never authenticate.
     */
    max_unauthenticated_per_address: z.number().int().min(1).max(1_000_000).default(100),
    /**
     * Most SCRAM iterations the pooler computes to log in to a destination (auth/scram-keys.ts):
     * the destination's stored verifier chooses the count (PostgreSQL's default is 4096), and a
     * tenant that controls its role's verifier would otherwise choose the pooler's CPU cost.
     */
    max_server_scram_iterations: z.number().int().min(4096).max(10_000_000).default(DEFAULT_MAX_SERVER_SCRAM_ITERATIONS),
    /**
     * Seconds a planned switchover may hold new transactions, counted from the event that started
     * it (docs/deploy.md "Planned switchover"): then queued clients go on with whatever the
     * targets say. Upper bound: RDS's default blue/green switchover timeout.
     */
    switchover_timeout: z.number().min(1).max(MAX_SWITCHOVER_SECONDS).default(DEFAULT_SWITCHOVER_SECONDS),
  })
  .strict();

export const configSchema = z
  .object({
    listen: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(6432),
        /** TLS toward clients (docs/tls.md); absent = disable. */
        tls: listenTlsSchema.optional(),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 6432 }),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    limits: limitsSchema.default(() => limitsSchema.parse({})),
    /** Named prepared statements in transaction mode (frontend/prepared-session.ts). */
    prepared_statements: z
      .object({
        /** Server-side statements kept per server connection; the least recently used are closed beyond it. */
        cache_size: z.number().int().min(1).default(500),
        /**
         * Memory for one tenant's statements (texts, and the client names that refer to them), bytes:
         * unused statements are forgotten beyond it, and a Parse that needs more is refused (53400).
         */
        max_bytes_per_tenant: z
          .number()
          .int()
          .min(16 * 1024)
          .max(1024 * 1024 * 1024)
          .default(16 * 1024 * 1024),
      })
      .strict()
      .default({ cache_size: 500, max_bytes_per_tenant: 16 * 1024 * 1024 }),
    /**
     * Pooler processes that share client traffic (behind one load balancer, or the workers of one
     * machine): each has its own node_id, which its cancel keys carry, and a CancelRequest for
     * another node's key is forwarded to that peer (frontend/cancel-keys.ts). `node_id: auto`
     * (local/aws sources) leases a free id from the store and finds the peers there
     * (cluster/node-lease.ts, docs/workers.md "Cancel requests").
     */
    cluster: z
      .object({
        node_id: z.union([z.number().int().min(0).max(1023), z.literal('auto')]),
        peers: z
          .array(z.object({ node_id: z.number().int().min(0).max(1023), host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict())
          .default([]),
        /** node_id auto: the port (on listen.host) where peers forward CancelRequests; 0 picks a free one. */
        peer_port: z.number().int().min(0).max(65535).optional(),
        /** node_id auto: the address peers reach peer_port at (default listen.host, unless that is a wildcard). */
        advertise_host: z.string().min(1).max(255).optional(),
      })
      .strict()
      .refine((c) => c.node_id !== 'auto' || c.peer_port !== undefined, { message: 'node_id auto needs peer_port: where the other poolers forward CancelRequests', path: ['peer_port'] })
      .optional(),
    /**
     * Fleet connection budgets (local/aws sources, docs/fleet.md): tenant sizes and cluster budgets
     * are fleet-wide, and this pooler uses its leased share (config/sources/budget-lease.ts).
     * lease_ttl (s): a dead pooler's share is handed out this long after its last renewal.
     */
    fleet_budgets: z
      .object({ enabled: z.boolean().default(true), lease_ttl: z.number().min(2).max(300).default(10) })
      .strict()
      .default({ enabled: true, lease_ttl: 10 }),
    /** Admin console users (config/admin-schema.ts, docs/admin.md). */
    admin: adminSchema.default({ users: [] }),
    /** Metrics/health HTTP endpoint (config/metrics-schema.ts, docs/metrics.md); absent = off. */
    metrics: metricsSchema.optional(),
    /**
     * TLS toward destinations of tenants that come from the local or AWS source (their records
     * carry no TLS settings): e.g. `{ mode: verify-full, ca_file: /etc/switchyard/rds-ca.pem }` for
     * RDS/Aurora. Tenants listed in this file set `target.tls` themselves.
     */
    target_tls: targetTlsSchema.optional(),
    tenants: z.array(tenantSchema).default([]),
  })
  .strict();

export type PoolSettings = z.infer<typeof poolSettingsSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type TenantConfig = z.infer<typeof tenantSchema>;
export type PoolerConfig = z.infer<typeof configSchema>;
export type PoolerConfigInput = z.input<typeof configSchema>;
