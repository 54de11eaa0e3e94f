// Moving a tenant (PATCH /tenants/{id} with `destination`): the stored destination with the change
// applied, and its password ciphertext under the right encryption context.
//
// The ciphertext is bound to { tenantId, clusterId } (tenantSecretContext, shared/src/domain/
// tenant.ts): a ciphertext of the old cluster does not decrypt under the new one. So:
// - a new password is encrypted under the NEW context;
// - a move to another registered cluster without a new password re-encrypts the stored one:
//   decrypted under the old context, encrypted under the new;
// - a move to a fixed host/port other than the current one needs the password in the request
//   (400 DESTINATION_PASSWORD_REQUIRED): the pooler answers whatever authentication the server asks
//   for, cleartext included, so carrying the stored password to an address the caller just typed
//   would let a caller allowed to PATCH (but not to decrypt) collect it. A cluster's address comes
//   from its registration (POST /clusters) or from RDS instead;
// - otherwise (same place; database, role or schema changed) the ciphertext stays as it is.
// The poolers then drain and switch on their own (pooler/src/backend/pool.ts, retarget): idle
// server connections to the old destination close at once, busy ones when their transaction ends.
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { SecretError } from '../../shared/src/domain/errors.ts';
import { destinationSchema, tenantSecretContext, type Destination, type Tenant } from '../../shared/src/domain/tenant.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { HttpError, UnknownClusterError } from './http-errors.ts';
import { parseRequest, type DestinationPatch } from './schemas.ts';

/** This change cannot carry the stored destination password: the caller must give it. */
export class DestinationPasswordRequiredError extends HttpError {
  constructor(message: string) {
    super(400, 'DESTINATION_PASSWORD_REQUIRED', `${message}; give destination.password`, [{ path: 'destination.password', message: 'required for this change' }]);
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
  const newAddress = next.host !== undefined && (next.host !== tenant.destination.host || next.port !== tenant.destination.port);
  let passwordCiphertext = tenant.destination.passwordCiphertext;
  let reEncrypted = false;
  if (newAddress && patch.password === undefined) {
    throw new DestinationPasswordRequiredError('the stored destination password is not sent to a new fixed host or port');
  }
  if (patch.password !== undefined) {
    passwordCiphertext = await adapters.secrets.encrypt(patch.password, newContext);
  } else if (contextChanged) {
    let password: string;
    try {
      password = await adapters.secrets.decrypt(tenant.destination.passwordCiphertext, oldContext);
    } catch (err) {
      if (err instanceof SecretError) throw new DestinationPasswordRequiredError(`the stored destination password of tenant ${tenant.tenantId} cannot be decrypted to re-encrypt it for cluster ${next.clusterId ?? ''}`);
      throw err;
    }
    passwordCiphertext = await adapters.secrets.encrypt(password, newContext);
    reEncrypted = true;
  }
  // The stored shape's own rules (exactly one of clusterId/host, port only with host), once more.
  const destination = parseRequest(destinationSchema, { ...next, passwordCiphertext }, 'destination');
  return { destination, moved: destinationMoved(tenant.destination, next), reEncrypted };
}
