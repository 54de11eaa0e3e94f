// Moving a tenant (PATCH /tenants/{id} with `destination`): the stored destination with the change
// applied, and its password ciphertext under the right encryption context.
//
// The ciphertext is bound to { tenantId, clusterId } (tenantSecretContext, shared/src/domain/
// tenant.ts): a ciphertext of the old cluster does not decrypt under the new one. So:
// - a new password is encrypted under the NEW context;
// - a change of context (another cluster, cluster ↔ fixed host) without a new password re-encrypts
//   the stored one: decrypted under the old context, encrypted under the new;
// - otherwise the ciphertext stays as it is (no KMS call).
// The poolers then drain and switch on their own (pooler/src/backend/pool.ts, retarget): idle
// server connections to the old destination close at once, busy ones when their transaction ends.
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { SecretError } from '../../shared/src/domain/errors.ts';
import { destinationSchema, tenantSecretContext, type Destination, type Tenant } from '../../shared/src/domain/tenant.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { HttpError, UnknownClusterError } from './http-errors.ts';
import { parseRequest, type DestinationPatch } from './schemas.ts';

/** The stored password cannot be carried to the new encryption context: the caller must give it. */
export class DestinationPasswordRequiredError extends HttpError {
  constructor(tenantId: string) {
    super(409, 'DESTINATION_PASSWORD_REQUIRED', `the stored destination password of tenant ${tenantId} cannot be decrypted to re-encrypt it for the new destination; give destination.password`);
  }
}

export type DestinationWithoutSecret = Omit<Destination, 'passwordCiphertext'>;

/**
 * The destination with the patch applied, without its ciphertext. The location moves as a whole
 * (clusterId alone, or host with its optional port); database, user and schema change one by one
 * (schema null removes it).
 */
export function mergeDestination(current: Destination, patch: DestinationPatch): DestinationWithoutSecret {
  const { passwordCiphertext: _kept, clusterId, host, port, schema, ...rest } = current;
  const out: DestinationWithoutSecret = { ...rest, database: patch.database ?? current.database, user: patch.user ?? current.user };
  if (patch.clusterId !== undefined) out.clusterId = patch.clusterId;
  else if (patch.host !== undefined) {
    out.host = patch.host;
    if (patch.port !== undefined) out.port = patch.port;
  } else {
    if (clusterId !== undefined) out.clusterId = clusterId;
    if (host !== undefined) out.host = host;
    if (port !== undefined) out.port = port;
  }
  const nextSchema = patch.schema === null ? undefined : (patch.schema ?? schema);
  if (nextSchema !== undefined) out.schema = nextSchema;
  return out;
}

/** Did the place the tenant's server connections go to change (what the poolers drain on)? */
export function destinationMoved(a: DestinationWithoutSecret, b: DestinationWithoutSecret): boolean {
  return a.clusterId !== b.clusterId || a.host !== b.host || a.port !== b.port || a.database !== b.database || a.user !== b.user || a.schema !== b.schema;
}

/**
 * The new stored destination of `tenant`: checked (a named cluster must exist: 400 UNKNOWN_CLUSTER,
 * as POST /tenants), with its password encrypted under the new context.
 */
export async function changeDestination(
  adapters: Pick<Adapters, 'clusters' | 'secrets'>,
  tenant: Tenant,
  patch: DestinationPatch,
): Promise<{ destination: Destination; moved: boolean; reEncrypted: boolean }> {
  const next = mergeDestination(tenant.destination, patch);
  if (next.clusterId !== undefined && next.clusterId !== tenant.destination.clusterId) {
    const cluster: Cluster | undefined = await adapters.clusters.get(next.clusterId);
    if (!cluster) throw new UnknownClusterError(next.clusterId);
  }
  const oldContext = tenantSecretContext(tenant.tenantId, tenant.destination);
  const newContext = tenantSecretContext(tenant.tenantId, next);
  const contextChanged = oldContext.clusterId !== newContext.clusterId;
  let passwordCiphertext = tenant.destination.passwordCiphertext;
  let reEncrypted = false;
  if (patch.password !== undefined) {
    passwordCiphertext = await adapters.secrets.encrypt(patch.password, newContext);
  } else if (contextChanged) {
    let password: string;
    try {
      password = await adapters.secrets.decrypt(tenant.destination.passwordCiphertext, oldContext);
    } catch (err) {
      if (err instanceof SecretError) throw new DestinationPasswordRequiredError(tenant.tenantId);
      throw err;
    }
    passwordCiphertext = await adapters.secrets.encrypt(password, newContext);
    reEncrypted = true;
  }
  // The stored shape's own rules (exactly one of clusterId/host, port only with host), once more.
  const destination = parseRequest(destinationSchema, { ...next, passwordCiphertext }, 'destination');
  return { destination, moved: destinationMoved(tenant.destination, next), reEncrypted };
}
