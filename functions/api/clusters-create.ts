// POST /clusters — registers a target cluster. The admin password (if given) is encrypted with the
// SecretBox under the cluster's own context and never returned. For RDS kinds without an explicit
// writer, the current writer and readers are discovered through the Topology port. The cluster's
// targets are published and the config version bumped, so poolers can resolve it at once.
import type { Cluster, NewClusterInput } from '../../shared/src/domain/cluster.ts';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { clusterAdminSecretContext } from '../../shared/src/domain/tenant.ts';
import { announceChange } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { HttpError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { createClusterRequestSchema, etag, parseRequest, type CreateClusterRequest } from '../lib/schemas.ts';
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

export async function createCluster(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const body = parseRequest(createClusterRequestSchema, req.body, 'cluster');
  req.log.setBindings({ clusterId: body.clusterId });
  // RDS identifiers are case-insensitive and stored lower-case (domain/cluster.ts).
  const rds = body.rds ? Object.fromEntries(Object.entries(body.rds).map(([k, v]) => [k, k === 'region' ? v : v?.toLowerCase()])) : undefined;
  const withRds: CreateClusterRequest = rds ? { ...body, rds } : body;
  const topology = withRds.writer ? { writer: withRds.writer, readers: withRds.readers ?? [] } : await discover(deps, withRds);

  const input: NewClusterInput = {
    clusterId: body.clusterId,
    kind: body.kind,
    writer: topology.writer,
    readers: withRds.readers ?? topology.readers,
    lastEventTime: deps.now().toISOString(),
  };
  if (withRds.members) input.members = withRds.members;
  if (withRds.rds) input.rds = withRds.rds;
  if (body.admin) {
    input.admin =
      'secretArn' in body.admin
        ? { secretArn: body.admin.secretArn }
        : { user: body.admin.user, passwordCiphertext: await deps.adapters.secrets.encrypt(body.admin.password, clusterAdminSecretContext(body.clusterId)) };
  }
  const cluster = await deps.adapters.clusters.create(input);
  await deps.adapters.config.publishClusterTargets(cluster.clusterId, clusterTargetsOf(cluster));
  await announceChange(deps.adapters, req.log);
  req.log.info({ kind: cluster.kind, epoch: cluster.epoch }, 'cluster created');
  return { status: 201, body: clusterView(cluster), headers: { location: `/clusters/${cluster.clusterId}`, etag: etag(cluster.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, createCluster);
}

export const handler = makeHandler(defaultDeps);
