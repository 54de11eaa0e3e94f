// Domain Tenant (the control plane's stored row, shared/src/domain/tenant.ts) → the pooler's
// TenantConfig (config/schema.ts). Pure: the caller supplies the decrypted destination password
// and the writer of the tenant's cluster, so this is the one place the mapping is decided:
// - verifiers: the current SCRAM (and md5) verifier, then the previous ones while the rotation
//   grace period lasts (clientAuth.previous.expiresAt in the future);
// - auth_method: md5 when every password accepted now has an md5 verifier (authMethodOf);
// - target: the cluster's writer for a cluster destination, else the fixed host (port 5432 when
//   absent, as libpq defaults);
// - status: only `active` serves; `suspended` and `deleting` become suspended (clients are closed
//   at their transaction boundary, new logins refused with 57P03);
// - pool: the same settings in snake_case; absent query/idle-in-transaction timeouts are 0 (off);
//   check_writer on for cluster destinations (a failover may leave us on a standby).
import type { TargetTlsConfig } from '../tls-schema.ts';
import type { Endpoint } from '../../../../shared/src/domain/common.ts';
import type { Tenant } from '../../../../shared/src/domain/tenant.ts';
import type { TenantConfig } from '../schema.ts';

/** PostgreSQL's default port, used when a fixed-host destination names none. */
export const DEFAULT_PG_PORT = 5432;

/** The tenant cannot be routed now (its cluster has no published writer). */
export class TenantNotRoutableError extends Error {
  readonly code = 'TENANT_NOT_ROUTABLE' as const;
  readonly tenantId: string;
  constructor(tenantId: string, message: string) {
    super(message);
    this.name = 'TenantNotRoutableError';
    this.tenantId = tenantId;
  }
}

export interface TenantConversion {
  /** The decrypted destination password. */
  password: string;
  /** The current writer of a cluster (undefined when the cluster has no published targets). */
  writerOf: (clusterId: string) => Endpoint | undefined;
  /** The cluster's published readers (the read endpoint's targets); absent = none. */
  readersOf?: (clusterId: string) => readonly Endpoint[] | undefined;
  now: Date;
  /** TLS toward the destination (the base file's `target_tls`): tenant records carry none. */
  tls?: TargetTlsConfig | undefined;
  /** Until when a cluster's planned switchover holds new transactions (epoch ms), if it does now. */
  switchingUntil?: (clusterId: string) => number | undefined;
}

/** The verifiers a client may log in with now, newest first. */
export function activeVerifiers(auth: Tenant['clientAuth'], now: Date): string[] {
  const out = [auth.scram];
  if (auth.md5 !== undefined) out.push(auth.md5);
  const prev = auth.previous;
  if (prev !== undefined && Date.parse(prev.expiresAt) > now.getTime()) {
    out.push(prev.scram);
    if (prev.md5 !== undefined) out.push(prev.md5);
  }
  return out;
}

/**
 * md5 when the tenant stores an md5 verifier for every password it accepts now (the API's
 * `md5: true`, "for clients that cannot do SCRAM"): the server picks one method for all clients,
 * and md5 is the one those clients can answer. Mid-rotation, when the previous password has no md5
 * verifier (md5 just turned on), SCRAM, so both passwords keep working until the grace period ends.
 */
export function authMethodOf(auth: Tenant['clientAuth'], now: Date): 'scram-sha-256' | 'md5' {
  if (auth.md5 === undefined) return 'scram-sha-256';
  const prev = auth.previous;
  const prevActive = prev !== undefined && Date.parse(prev.expiresAt) > now.getTime();
  return prevActive && prev.md5 === undefined ? 'scram-sha-256' : 'md5';
}

/** When the routing built at `now` goes stale by itself (a rotation grace period ends), else undefined. */
export function graceEndsAt(t: Pick<Tenant, 'clientAuth'>, now: Date): number | undefined {
  const prev = t.clientAuth.previous;
  if (prev === undefined) return undefined;
  const at = Date.parse(prev.expiresAt);
  return at > now.getTime() ? at : undefined;
}

export function tenantToConfig(t: Tenant, c: TenantConversion): TenantConfig {
  const d = t.destination;
  let endpoint: Endpoint;
  let switchoverUntil: number | undefined;
  if (d.clusterId !== undefined) {
    switchoverUntil = c.switchingUntil?.(d.clusterId);
    const writer = c.writerOf(d.clusterId);
    if (writer === undefined) throw new TenantNotRoutableError(t.tenantId, `tenant ${t.tenantId}: cluster ${d.clusterId} has no published targets`);
    endpoint = writer;
  } else {
    endpoint = { host: d.host!, port: d.port ?? DEFAULT_PG_PORT };
  }
  const p = t.pool;
  return {
    id: t.tenantId,
    database: t.client.database,
    user: t.client.user,
    verifiers: activeVerifiers(t.clientAuth, c.now),
    auth_method: authMethodOf(t.clientAuth, c.now),
    target: { host: endpoint.host, port: endpoint.port, database: d.database, user: d.user, password: c.password, ...(c.tls !== undefined ? { tls: c.tls } : {}) },
    ...(d.schema !== undefined ? { schema: d.schema } : {}),
    status: t.status === 'active' ? 'active' : 'suspended',
    pool: {
      mode: p.mode,
      size: p.size,
      min_idle: p.minIdle,
      max_clients: p.maxClients,
      connect_timeout: p.connectTimeout,
      idle_timeout: p.idleTimeout,
      max_lifetime: p.maxLifetime,
      checkout_timeout: p.checkoutTimeout,
      query_timeout: p.queryTimeout ?? 0,
      idle_in_transaction_timeout: p.idleInTransactionTimeout ?? 0,
      client_idle_timeout: 0,
      check_writer: d.clusterId !== undefined,
      ...(p.maxPinned !== undefined ? { max_pinned: p.maxPinned } : {}),
      ...(p.pinAdvisoryLocks !== undefined ? { pin_advisory_locks: p.pinAdvisoryLocks } : {}),
      ...(p.pinRole !== undefined ? { pin_role: p.pinRole } : {}),
      ...(p.lazyReset !== undefined ? { lazy_reset: p.lazyReset } : {}),
      ...(switchoverUntil !== undefined ? { switchover_until: new Date(switchoverUntil).toISOString() } : {}),
    },
    // The read endpoint: the cluster's readers (a fixed-host destination has none: every read
    // transaction goes to the writer).
    ...(t.readEndpoint?.enabled === true
      ? {
          read_endpoint: {
            readers: (d.clusterId === undefined ? [] : (c.readersOf?.(d.clusterId) ?? [])).map((e) => ({ host: e.host, port: e.port })),
            max_replica_lag_ms: t.readEndpoint.maxReplicaLagMs,
          },
        }
      : {}),
  };
}
