// Connection details for acting on a cluster as its admin (provisioning, purge, metrics): the
// cluster's current writer with the admin password decrypted under the cluster's own encryption
// context. Secrets Manager ARNs are accepted in cluster records but not resolved here (no Secrets
// Manager client in this deployment): such clusters cannot be provisioned through the API.
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { clusterAdminSecretContext } from '../../shared/src/domain/tenant.ts';
import type { SecretBox } from '../../shared/src/ports/secret-box.ts';
import { HttpError } from './http-errors.ts';
import type { PgTarget } from './pg-target.ts';

/** The maintenance database the admin connects to (exists on every PostgreSQL and RDS server). */
export const MAINTENANCE_DATABASE = 'postgres';

export class ClusterAdminUnavailableError extends HttpError {
  constructor(clusterId: string, why: string) {
    super(409, 'CLUSTER_ADMIN_UNAVAILABLE', `cluster ${clusterId} ${why}`);
  }
}

/** Throws 409 CLUSTER_ADMIN_UNAVAILABLE unless the cluster has admin credentials we can use. */
export function assertClusterAdmin(cluster: Cluster): { user: string; passwordCiphertext: string } {
  const admin = cluster.admin;
  if (!admin) throw new ClusterAdminUnavailableError(cluster.clusterId, 'has no admin credentials');
  if (!('passwordCiphertext' in admin)) {
    throw new ClusterAdminUnavailableError(cluster.clusterId, 'keeps its admin credentials in Secrets Manager, which this API does not read');
  }
  return admin;
}

export async function clusterAdminTarget(secrets: SecretBox, cluster: Cluster, database = MAINTENANCE_DATABASE): Promise<PgTarget> {
  const admin = assertClusterAdmin(cluster);
  const password = await secrets.decrypt(admin.passwordCiphertext, clusterAdminSecretContext(cluster.clusterId));
  return { host: cluster.writer.host, port: cluster.writer.port, database, user: admin.user, password };
}
