// Connection details for acting on a cluster as its admin (provisioning, purge, metrics): the
// cluster's current writer with the admin credentials, which are either
// - our own ciphertext, decrypted with the SecretBox under the cluster's encryption context, or
// - a Secrets Manager secret (`admin.secretArn`, typically the one RDS manages for the master user:
//   `rds!cluster-…` / `rds!db-…`), read fresh on every call through Adapters.adminSecrets.
// A deployment without a secret reader (local mode) answers 409 CLUSTER_ADMIN_UNAVAILABLE for the
// second kind. A secret that cannot be used maps to a CLUSTER_ADMIN_SECRET_* error (docs/errors.md):
// 409 when the secret itself must be fixed (missing, wrong shape), 502 when the control plane could
// not read it (permissions, Secrets Manager failing). No message carries any part of the secret.
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import type { SecretOwner } from '../../shared/src/ports/cluster-admin-secrets.ts';
import { clusterAdminSecretContext } from '../../shared/src/domain/tenant.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { AdminSecretError, type AdminSecretFailure } from '../../shared/src/ports/cluster-admin-secrets.ts';
import { HttpError } from './http-errors.ts';
import type { PgTarget } from './pg-target.ts';

/** The maintenance database the admin connects to (exists on every PostgreSQL and RDS server). */
export const MAINTENANCE_DATABASE = 'postgres';

/** What resolving admin credentials needs from the adapters. */
export type AdminCredentialSources = Pick<Adapters, 'secrets' | 'adminSecrets'>;

export class ClusterAdminUnavailableError extends HttpError {
  constructor(clusterId: string, why: string) {
    super(409, 'CLUSTER_ADMIN_UNAVAILABLE', `cluster ${clusterId} ${why}`);
  }
}

const SECRET_ERRORS: Record<AdminSecretFailure, { status: number; code: string }> = {
  'not-found': { status: 409, code: 'CLUSTER_ADMIN_SECRET_NOT_FOUND' },
  invalid: { status: 409, code: 'CLUSTER_ADMIN_SECRET_INVALID' },
  'not-owned': { status: 409, code: 'CLUSTER_ADMIN_SECRET_NOT_OWNED' },
  denied: { status: 502, code: 'CLUSTER_ADMIN_SECRET_DENIED' },
  unavailable: { status: 502, code: 'CLUSTER_ADMIN_SECRET_UNAVAILABLE' },
};

/** The cluster's admin secret cannot be used; `reason` says why (the code says it too). */
export class ClusterAdminSecretError extends HttpError {
  readonly reason: AdminSecretFailure;
  constructor(clusterId: string, err: AdminSecretError) {
    const { status, code } = SECRET_ERRORS[err.reason];
    super(status, code, `cluster ${clusterId}: ${err.message}`);
    this.reason = err.reason;
  }
}

const NO_ADMIN = 'has no admin credentials';
const NOT_RDS =
  'keeps its admin credentials in Secrets Manager, which only RDS clusters (aurora, rds-instance) may: their writer comes from RDS and the secret must be the one RDS manages for them';
const NO_SECRET_READER =
  'keeps its admin credentials in Secrets Manager, which this deployment (local mode) does not read; register the cluster with admin.user and admin.password';

/** Can clusterAdminTarget work for this cluster here (without asking AWS)? */
export function hasUsableAdmin(sources: AdminCredentialSources, cluster: Cluster): boolean {
  const admin = cluster.admin;
  return admin !== undefined && ('passwordCiphertext' in admin || sources.adminSecrets !== undefined);
}

/**
 * The writer, as the cluster's admin, in `database`. Reads a Secrets Manager admin afresh on every
 * call (a rotated master password works at once). 409 CLUSTER_ADMIN_UNAVAILABLE without usable
 * credentials; ClusterAdminSecretError (409/502) when the secret cannot be used.
 */
export async function clusterAdminTarget(sources: AdminCredentialSources, cluster: Cluster, database = MAINTENANCE_DATABASE): Promise<PgTarget> {
  const admin = cluster.admin;
  if (!admin) throw new ClusterAdminUnavailableError(cluster.clusterId, NO_ADMIN);
  const endpoint = { host: cluster.writer.host, port: cluster.writer.port, database };
  if ('passwordCiphertext' in admin) {
    const password = await sources.secrets.decrypt(admin.passwordCiphertext, clusterAdminSecretContext(cluster.clusterId));
    return { ...endpoint, user: admin.user, password };
  }
  if (!sources.adminSecrets) throw new ClusterAdminUnavailableError(cluster.clusterId, NO_SECRET_READER);
  // Only the master secret RDS manages for this cluster's own RDS resource: never for a static
  // cluster, whose writer is whatever address its creator gave (the password would go there).
  const owner = secretOwner(cluster);
  if (owner === undefined) throw new ClusterAdminUnavailableError(cluster.clusterId, NOT_RDS);
  try {
    const { user, password } = await sources.adminSecrets.read(admin.secretArn, owner);
    return { ...endpoint, user, password };
  } catch (err) {
    if (err instanceof AdminSecretError) throw new ClusterAdminSecretError(cluster.clusterId, err);
    throw err;
  }
}

/** The RDS resource whose master secret may serve as this cluster's admin, if it is an RDS cluster. */
export function secretOwner(cluster: Pick<Cluster, 'kind' | 'rds'>): SecretOwner | undefined {
  if (cluster.kind === 'aurora' && cluster.rds?.clusterIdentifier) return { resource: 'cluster', identifier: cluster.rds.clusterIdentifier };
  if (cluster.kind === 'rds-instance' && cluster.rds?.instanceIdentifier) return { resource: 'db', identifier: cluster.rds.instanceIdentifier };
  return undefined;
}
