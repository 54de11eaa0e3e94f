// POST /tenants — creates a tenant, optionally provisions its role and database (or schema) on the
// target cluster, then bumps the config version and pushes a reload.
//
// The client password is taken from the request or generated, turned into verifiers (SCRAM-SHA-256,
// optionally md5) and returned in the 201 response only; it is stored nowhere. The destination
// password is encrypted with the SecretBox under { tenantId, clusterId }; when provisioning without
// one, the role gets the client password.
//
// Idempotency (decided here, documented in the OpenAPI description):
// - The tenantId is the natural key: creating an existing tenant again with the SAME request
//   (same client login, destination, pool settings, md5 choice; and, if the request carries
//   passwords, the same passwords — checked against the stored verifier / ciphertext) answers
//   200 with the stored tenant and no password (`Idempotent-Replayed: true`). It also re-runs
//   provisioning when asked (idempotent) and re-announces the config. A DIFFERENT request for an
//   existing tenantId is 409 ALREADY_EXISTS.
// - If provisioning fails, the tenant row is removed again and the error returned (502, or 409 when
//   the role/database/schema belongs to someone else): retrying the request creates afresh.
// - An `Idempotency-Key` header is passed to the store (kept 24 h); reusing a key for another
//   tenantId, or for the same tenantId with a different request, is 422 IDEMPOTENCY_KEY_REUSED
//   (draft-ietf-httpapi-idempotency-key-header §2.7).
// - A generated password cannot be shown again on a replay: if the 201 was lost, rotate it.
// - Once the tenant is stored (and provisioned) the answer is 201 even if the config version cannot
//   be bumped (functions/lib/announce.ts, after bounded retries): the body then carries
//   `warning: { code: "CONFIG_NOT_PUBLISHED" }`, and a replay of the same request announces again.
import { createMd5Verifier, createScramVerifier, parseVerifier } from '../../shared/src/auth/verifier.ts';
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { ConflictError } from '../../shared/src/domain/errors.ts';
import { poolSettingsSchema, tenantSecretContext, type ClientAuth, type NewTenantInput, type PoolSettings, type Tenant } from '../../shared/src/domain/tenant.ts';
import { announceCommitted } from '../lib/announce.ts';
import { clusterAdminTarget } from '../lib/cluster-admin.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { HttpError, InvalidRequestError, ProvisioningError, UnknownClusterError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { generatePassword, sameSecret } from '../lib/passwords.ts';
import { sqlState, type PgTarget } from '../lib/pg-target.ts';
import { provisionTenant } from '../lib/provision.ts';
import { createTenantRequestSchema, etag, parseRequest, pgIdentifierSchema, type CreateTenantRequest } from '../lib/schemas.ts';
import { canonicalJson } from '../lib/tenants.ts';
import { tenantView } from '../lib/views.ts';

export class IdempotencyKeyReusedError extends HttpError {
  constructor() {
    super(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for a different request');
  }
}

/** RFC 9110 token-ish: visible ASCII, bounded. */
function idempotencyKeyOf(req: ApiRequest): string | undefined {
  const k = req.headers['idempotency-key'];
  if (k === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(k)) {
    throw new InvalidRequestError('invalid Idempotency-Key: 1 to 255 visible ASCII characters', [{ path: 'Idempotency-Key', message: 'invalid' }]);
  }
  return k;
}

interface Desired {
  destination: { clusterId?: string; host?: string; port?: number; database: string; user: string; schema?: string };
  pool: PoolSettings;
}

function desiredOf(body: CreateTenantRequest): Desired {
  const d = body.destination;
  const destination: Desired['destination'] = { database: d.database ?? body.client.database, user: d.user ?? body.client.user };
  if (d.clusterId !== undefined) destination.clusterId = d.clusterId;
  if (d.host !== undefined) destination.host = d.host;
  if (d.port !== undefined) destination.port = d.port;
  if (d.schema !== undefined) destination.schema = d.schema;
  return { destination, pool: body.pool ?? poolSettingsSchema.parse({}) };
}

/** Does the password match the stored SCRAM verifier? (Recompute with its salt and iterations.) */
function passwordMatches(scram: string, password: string): boolean {
  const v = parseVerifier(scram);
  if (v.kind !== 'scram') return false;
  return sameSecret(createScramVerifier(password, { salt: v.salt, iterations: v.iterations }), scram);
}

/** Is `existing` what this request would have created? */
async function sameRequest(deps: Deps, existing: Tenant, body: CreateTenantRequest, desired: Desired): Promise<boolean> {
  if (existing.status === 'deleting') return false;
  if (existing.client.database !== body.client.database || existing.client.user !== body.client.user) return false;
  if ((existing.clientAuth.md5 !== undefined) !== body.client.md5) return false;
  const { passwordCiphertext: _ignored, ...storedDestination } = existing.destination;
  if (canonicalJson(storedDestination) !== canonicalJson(desired.destination)) return false;
  if (canonicalJson(existing.pool) !== canonicalJson(desired.pool)) return false;
  if (canonicalJson(existing.readEndpoint ?? null) !== canonicalJson(body.readEndpoint ?? null)) return false;
  if (body.client.password !== undefined && !passwordMatches(existing.clientAuth.scram, body.client.password)) return false;
  if (body.destination.password !== undefined) {
    const stored = await deps.adapters.secrets.decrypt(existing.destination.passwordCiphertext, tenantSecretContext(existing.tenantId, existing.destination));
    if (!sameSecret(stored, body.destination.password)) return false;
  }
  return true;
}

async function loadCluster(deps: Deps, clusterId: string | undefined): Promise<Cluster | undefined> {
  if (clusterId === undefined) return undefined;
  const c = await deps.adapters.clusters.get(clusterId);
  if (!c) throw new UnknownClusterError(clusterId);
  return c;
}

/** `admin` comes from clusterAdminTarget (decrypted, or read from Secrets Manager) just before. */
async function provision(deps: Deps, req: ApiRequest, tenant: Tenant, cluster: Cluster, admin: PgTarget, destinationPassword: string): Promise<void> {
  const d = tenant.destination;
  try {
    const r = await provisionTenant(deps.pg, admin, { tenantId: tenant.tenantId, role: d.user, password: destinationPassword, database: d.database, schema: d.schema });
    req.log.info({ clusterId: cluster.clusterId, ...r }, 'tenant provisioned');
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The SQLSTATE says enough to act on; the server's message could quote identifiers or values.
    const state = sqlState(err);
    req.log.error({ clusterId: cluster.clusterId, sqlState: state, errName: (err as Error).name }, 'provisioning failed');
    throw new ProvisioningError(`provisioning on cluster ${cluster.clusterId} failed${state ? ` (SQLSTATE ${state})` : ''}; retry the request`);
  }
}

async function replay(deps: Deps, req: ApiRequest, existing: Tenant, body: CreateTenantRequest, desired: Desired, keyed: boolean): Promise<ApiResponse> {
  if (!(await sameRequest(deps, existing, body, desired))) {
    if (keyed) throw new IdempotencyKeyReusedError();
    throw new ConflictError('exists', `tenant ${existing.tenantId} already exists`);
  }
  if (body.provision) {
    const cluster = await loadCluster(deps, existing.destination.clusterId);
    if (cluster) {
      const admin = await clusterAdminTarget(deps.adapters, cluster);
      const password = await deps.adapters.secrets.decrypt(existing.destination.passwordCiphertext, tenantSecretContext(existing.tenantId, existing.destination));
      await provision(deps, req, existing, cluster, admin, password);
    }
  }
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info('tenant create replayed');
  return {
    status: 200,
    body: { tenant: tenantView(existing), ...(warning ? { warning } : {}) },
    headers: { location: `/tenants/${existing.tenantId}`, etag: etag(existing.version), 'idempotent-replayed': 'true' },
  };
}

export async function createTenant(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const body = parseRequest(createTenantRequestSchema, req.body, 'tenant');
  req.log.setBindings({ tenantId: body.tenantId });
  const key = idempotencyKeyOf(req);
  const desired = desiredOf(body);
  if (body.provision) {
    // Names that become SQL identifiers must fit NAMEDATALEN in bytes (see schemas.ts).
    parseRequest(pgIdentifierSchema, desired.destination.database, 'destination database');
    parseRequest(pgIdentifierSchema, desired.destination.user, 'destination user');
  }

  const existing = await deps.adapters.tenants.get(body.tenantId);
  if (existing) return replay(deps, req, existing, body, desired, key !== undefined);

  const cluster = await loadCluster(deps, desired.destination.clusterId);
  // The admin credentials first: a cluster we cannot act on (no admin, a missing or unreadable
  // secret) is refused before anything is written.
  const admin = body.provision && cluster ? await clusterAdminTarget(deps.adapters, cluster) : undefined;

  const password = body.client.password ?? generatePassword();
  const clientAuth: ClientAuth = { scram: createScramVerifier(password) };
  if (body.client.md5) clientAuth.md5 = createMd5Verifier(password, body.client.user);
  // Provisioning without an explicit destination password gives the new role the client password,
  // so the one password returned works both through the pooler and directly against the database
  // (migrations, admin tools). A later rotate-password changes the client side only.
  const destinationPassword = body.destination.password ?? password;
  const passwordCiphertext = await deps.adapters.secrets.encrypt(destinationPassword, tenantSecretContext(body.tenantId, desired.destination));
  const input: NewTenantInput = {
    tenantId: body.tenantId,
    client: { database: body.client.database, user: body.client.user },
    clientAuth,
    destination: { ...desired.destination, passwordCiphertext },
    pool: desired.pool,
    status: 'active',
    ...(body.readEndpoint !== undefined ? { readEndpoint: body.readEndpoint } : {}),
  };

  let tenant: Tenant;
  try {
    tenant = await deps.adapters.tenants.create(input, key !== undefined ? { idempotencyKey: key } : {});
  } catch (err) {
    if (err instanceof ConflictError && err.reason === 'exists') {
      // Lost a race with a twin request: judge it as a replay.
      const now = await deps.adapters.tenants.get(body.tenantId);
      if (now) return replay(deps, req, now, body, desired, key !== undefined);
    }
    if (err instanceof ConflictError && err.reason === 'idempotency-key-reused') throw new IdempotencyKeyReusedError();
    throw err;
  }
  // With an Idempotency-Key the store answers a repeat with the stored tenant instead of failing;
  // our fresh verifier (new random salt) tells a real create from that.
  if (tenant.clientAuth.scram !== clientAuth.scram) return replay(deps, req, tenant, body, desired, true);

  if (admin && cluster) {
    try {
      await provision(deps, req, tenant, cluster, admin, destinationPassword);
    } catch (err) {
      // Undo the create, so a tenant either exists provisioned or not at all: the client never saw
      // the password of this attempt, and its retry creates afresh (provisioning converges on what
      // this attempt left behind: the role carries our marker). If even the undo fails, the retry
      // takes the replay path and resumes provisioning.
      await deps.adapters.tenants.delete(tenant.tenantId, tenant.version).catch((e: unknown) => {
        req.log.error({ errName: (e as Error).name }, 'could not undo the tenant create after a provisioning failure');
      });
      throw err;
    }
  }
  // Committed (and provisioned): from here the answer is 201 with the password, whatever the
  // announce does — a 500 would lose the password for good (a replay answers without it).
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info({ clusterId: tenant.destination.clusterId, provisioned: body.provision }, 'tenant created');
  return {
    status: 201,
    body: { tenant: tenantView(tenant), password, ...(warning ? { warning } : {}) },
    headers: { location: `/tenants/${tenant.tenantId}`, etag: etag(tenant.version) },
  };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, createTenant);
}

export const handler = makeHandler(defaultDeps);
