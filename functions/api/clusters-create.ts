// POST /clusters — registers a target cluster. The admin password (if given) is encrypted with the
// SecretBox under the cluster's own context and never returned. For RDS kinds without an explicit
// writer, the current writer and readers are discovered through the Topology port. The cluster's
// targets are published and the config version bumped, so poolers can resolve it at once.
//
// Idempotency (as POST /tenants): the clusterId is the natural key. Repeating the SAME request for
// an existing cluster answers 200 with the stored cluster (`Idempotent-Replayed: true`) and
// publishes its targets and the config version again — so a create whose publish failed is
// finished by sending it again. A DIFFERENT request for an existing clusterId is 409
// ALREADY_EXISTS. "Same": kind, RDS identifiers, members and admin (user and password — compared
// with the stored ciphertext — or secretArn); an explicit writer/readers too while the cluster is
// at epoch 0 (afterwards failovers have moved it on, and the store is the authority).
//
// Once the cluster is stored, the answer is 2xx even if publishing fails after bounded retries
// (functions/lib/announce.ts): the body then carries `warning: { code: "CONFIG_NOT_PUBLISHED" }`;
// the scheduled reconcile republishes targets that lag behind the store, or repeat the request.
import type { Cluster, NewClusterInput } from '../../shared/src/domain/cluster.ts';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { sameEndpoint, sameEndpoints } from '../../shared/src/domain/common.ts';
import { ConflictError } from '../../shared/src/domain/errors.ts';
import { clusterAdminSecretContext } from '../../shared/src/domain/tenant.ts';
import { announceCommitted, CONFIG_NOT_PUBLISHED, errSummary, withRetries, type ApiWarning } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { HttpError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { sameSecret } from '../lib/passwords.ts';
import { createClusterRequestSchema, etag, parseRequest, type CreateClusterRequest } from '../lib/schemas.ts';
import { canonicalJson } from '../lib/tenants.ts';
import { clusterView } from '../lib/views.ts';

export class WriterUnknownError extends HttpError {
  constructor(clusterId: string) {
    super(409, 'WRITER_UNKNOWN', `cluster ${clusterId} has no writer right now; give writer explicitly or retry`);
  }
}

async function discover(deps: Deps, body: CreateClusterRequest): Promise<Pick<Cluster, 'writer' | 'readers'>> {
  const now = deps.now().toISOString();
  // A provisional record: Topology.describe only reads the kind, RDS identifiers and members.
  const provisional: Cluster = {
    clusterId: body.clusterId,
    kind: body.kind,
    writer: { host: 'unknown.invalid', port: 5432 },
    readers: [],
    epoch: 0,
    lastEventTime: now,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...(body.rds ? { rds: body.rds } : {}),
    ...(body.members ? { members: body.members } : {}),
  };
  const observed = await deps.adapters.topology.describe(provisional);
  if (!observed.writer) throw new WriterUnknownError(body.clusterId);
  return { writer: observed.writer, readers: observed.readers };
}

/** Is `existing` what this request would have created? (See the header for what counts.) */
async function sameRequest(deps: Deps, existing: Cluster, body: CreateClusterRequest): Promise<boolean> {
  if (existing.kind !== body.kind) return false;
  if (canonicalJson(existing.rds ?? null) !== canonicalJson(body.rds ?? null)) return false;
  if ((existing.members === undefined) !== (body.members === undefined)) return false;
  if (!sameEndpoints(existing.members ?? [], body.members ?? [])) return false;
  if (existing.epoch === 0) {
    if (body.writer !== undefined && !sameEndpoint(existing.writer, body.writer)) return false;
    if (body.readers !== undefined && !sameEndpoints(existing.readers, body.readers)) return false;
  }
  const a = existing.admin;
  const b = body.admin;
  if (a === undefined || b === undefined) return a === b;
  if ('secretArn' in b) return 'secretArn' in a && a.secretArn === b.secretArn;
  if ('secretArn' in a || a.user !== b.user) return false;
  const stored = await deps.adapters.secrets.decrypt(a.passwordCiphertext, clusterAdminSecretContext(existing.clusterId));
  return sameSecret(stored, b.password);
}

/** Targets, then the config version (ports/config-channel.ts ordering); a warning if either fails. */
async function publish(deps: Deps, req: ApiRequest, cluster: Cluster): Promise<ApiWarning | undefined> {
  const config = deps.adapters.config;
  try {
    const published = await withRetries(() => config.publishClusterTargets(cluster.clusterId, clusterTargetsOf(cluster)), req.log, 'publishing cluster targets');
    if (!published) {
      // Refused: targets with a higher epoch are published. Ours if they come from an event of
      // this cluster's life; from before it was created, they are what a cluster deleted under the
      // same id left behind (a reconcile that raced DELETE /clusters republishes them), and would
      // send this cluster's tenants to the old one's writer: replace them.
      const held = await config.getClusterTargets(cluster.clusterId);
      if (held !== undefined && Date.parse(held.eventTime) < Date.parse(cluster.createdAt)) {
        req.log.warn({ epoch: held.epoch }, 'replacing targets left behind by a deleted cluster of the same id');
        await withRetries(() => config.deleteClusterTargets(cluster.clusterId), req.log, 'deleting stale cluster targets');
        await withRetries(() => config.publishClusterTargets(cluster.clusterId, clusterTargetsOf(cluster)), req.log, 'publishing cluster targets');
      }
    }
  } catch (err) {
    req.log.error({ err: errSummary(err), warning: CONFIG_NOT_PUBLISHED.code }, 'publishing cluster targets failed after every attempt; the cluster is stored, the reconcile will republish');
    return CONFIG_NOT_PUBLISHED;
  }
  return announceCommitted(deps.adapters, req.log);
}

async function replay(deps: Deps, req: ApiRequest, existing: Cluster, body: CreateClusterRequest): Promise<ApiResponse> {
  if (!(await sameRequest(deps, existing, body))) throw new ConflictError('exists', `cluster ${existing.clusterId} already exists`);
  const warning = await publish(deps, req, existing);
  req.log.info('cluster create replayed');
  return {
    status: 200,
    body: { ...clusterView(existing), ...(warning ? { warning } : {}) },
    headers: { location: `/clusters/${existing.clusterId}`, etag: etag(existing.version), 'idempotent-replayed': 'true' },
  };
}

export async function createCluster(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const body = parseRequest(createClusterRequestSchema, req.body, 'cluster');
  req.log.setBindings({ clusterId: body.clusterId });
  // RDS identifiers are case-insensitive and stored lower-case (domain/cluster.ts).
  const rds = body.rds ? Object.fromEntries(Object.entries(body.rds).map(([k, v]) => [k, k === 'region' ? v : v?.toLowerCase()])) : undefined;
  const withRds: CreateClusterRequest = rds ? { ...body, rds } : body;

  const existing = await deps.adapters.clusters.get(body.clusterId);
  if (existing) return replay(deps, req, existing, withRds);

  const topology = withRds.writer ? { writer: withRds.writer, readers: withRds.readers ?? [] } : await discover(deps, withRds);
  const input: NewClusterInput = {
    clusterId: body.clusterId,
    kind: body.kind,
    writer: topology.writer,
    readers: withRds.readers ?? topology.readers,
    lastEventTime: deps.now().toISOString(),
  };
  if (body.connectionBudget !== undefined) input.connectionBudget = body.connectionBudget;
  if (body.maxConnections !== undefined) input.maxConnections = body.maxConnections;
  if (withRds.members) input.members = withRds.members;
  if (withRds.rds) input.rds = withRds.rds;
  if (body.admin) {
    input.admin =
      'secretArn' in body.admin
        ? { secretArn: body.admin.secretArn }
        : { user: body.admin.user, passwordCiphertext: await deps.adapters.secrets.encrypt(body.admin.password, clusterAdminSecretContext(body.clusterId)) };
  }
  // The budget's basis: asked of the server where the topology can (local); else the default.
  if (input.maxConnections === undefined) {
    const asked = await deps.adapters.topology.maxConnections?.(input as Cluster).catch(() => undefined);
    if (asked !== undefined) input.maxConnections = asked;
  }
  let cluster: Cluster;
  try {
    cluster = await deps.adapters.clusters.create(input);
  } catch (err) {
    if (err instanceof ConflictError && err.reason === 'exists') {
      // Lost a race with a twin request: judge it as a replay.
      const now = await deps.adapters.clusters.get(body.clusterId);
      if (now) return replay(deps, req, now, withRds);
    }
    throw err;
  }
  // Committed: from here the answer is 201, whatever publishing does.
  const warning = await publish(deps, req, cluster);
  req.log.info({ kind: cluster.kind, epoch: cluster.epoch }, 'cluster created');
  return {
    status: 201,
    body: { ...clusterView(cluster), ...(warning ? { warning } : {}) },
    headers: { location: `/clusters/${cluster.clusterId}`, etag: etag(cluster.version) },
  };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, createCluster);
}

export const handler = makeHandler(defaultDeps);
