// Topology from the RDS API.
// - aurora: DescribeDBClusters lists the members with IsClusterWriter (RDS API Reference,
//   DBClusterMember); each member's own endpoint comes from DescribeDBInstances. We route to the
//   writer INSTANCE endpoint, not the cluster endpoint, so a failover takes effect when we publish
//   it instead of when the cluster endpoint's DNS record (TTL) catches up.
// - rds-instance: the instance endpoint is the writer (Multi-AZ failover keeps the DNS name);
//   its read replicas are the readers.
// - static: with `members`, asked from the servers themselves (PgTopology, when given);
//   otherwise the stored writer and readers (nothing to discover).
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient, type DBInstance } from '@aws-sdk/client-rds';
import type { Endpoint } from '../domain/common.ts';
import type { ObservedTopology } from '../domain/writer-change.ts';
import type { Topology, TopologySubject } from '../ports/topology.ts';

export interface RdsTopologyOptions {
  /** The client for the control plane's own region. */
  rds: RDSClient;
  /** Makes a client for a cluster in another region (default: new RDSClient({ region })). */
  clientForRegion?: (region: string) => RDSClient;
  /** For `static` clusters. Without it they report their stored writer and readers. */
  staticTopology?: Topology;
}

/** Instances in these states cannot take connections (RDS User Guide, "Viewing DB instance status"). */
const UNUSABLE = new Set(['deleting', 'failed', 'stopped', 'stopping', 'inaccessible-encryption-credentials', 'incompatible-network', 'storage-full']);

function endpointOf(i: DBInstance | undefined): Endpoint | null {
  const host = i?.Endpoint?.Address;
  const port = i?.Endpoint?.Port;
  if (!i || !host || !port || UNUSABLE.has(i.DBInstanceStatus ?? '')) return null;
  return { host, port };
}

export class RdsTopology implements Topology {
  readonly #o: RdsTopologyOptions;
  readonly #regional = new Map<string, RDSClient>();
  constructor(opts: RdsTopologyOptions) {
    this.#o = opts;
  }

  async describe(cluster: TopologySubject): Promise<ObservedTopology> {
    if (cluster.kind === 'static') {
      // Only a static cluster with a members list has anything to discover.
      if (this.#o.staticTopology && cluster.members?.length) return this.#o.staticTopology.describe(cluster);
      return { writer: cluster.writer ? { ...cluster.writer } : null, readers: (cluster.readers ?? []).map((r) => ({ ...r })) };
    }
    const rds = this.#client(cluster.rds?.region);
    if (cluster.kind === 'aurora') {
      const id = cluster.rds?.clusterIdentifier;
      if (!id) throw new Error(`cluster ${cluster.clusterId}: rds.clusterIdentifier is missing`);
      return describeAurora(rds, id);
    }
    const id = cluster.rds?.instanceIdentifier;
    if (!id) throw new Error(`cluster ${cluster.clusterId}: rds.instanceIdentifier is missing`);
    return describeInstance(rds, id);
  }

  #client(region: string | undefined): RDSClient {
    if (!region) return this.#o.rds;
    let c = this.#regional.get(region);
    if (!c) {
      c = this.#o.clientForRegion ? this.#o.clientForRegion(region) : new RDSClient({ region });
      this.#regional.set(region, c);
    }
    return c;
  }
}

async function describeDbInstance(rds: RDSClient, id: string): Promise<DBInstance | undefined> {
  const res = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  return res.DBInstances?.[0];
}

async function describeAurora(rds: RDSClient, clusterIdentifier: string): Promise<ObservedTopology> {
  const res = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterIdentifier }));
  const members = res.DBClusters?.[0]?.DBClusterMembers ?? [];
  const described = await Promise.all(
    members.map(async (m) => ({
      writer: m.IsClusterWriter === true,
      endpoint: m.DBInstanceIdentifier ? endpointOf(await describeDbInstance(rds, m.DBInstanceIdentifier)) : null,
    })),
  );
  const writer = described.find((d) => d.writer)?.endpoint ?? null;
  const readers = described.filter((d) => !d.writer && d.endpoint).map((d) => d.endpoint as Endpoint);
  return { writer, readers };
}

async function describeInstance(rds: RDSClient, instanceIdentifier: string): Promise<ObservedTopology> {
  const primary = await describeDbInstance(rds, instanceIdentifier);
  const replicaIds = primary?.ReadReplicaDBInstanceIdentifiers ?? [];
  const replicas = await Promise.all(replicaIds.map(async (id) => endpointOf(await describeDbInstance(rds, id))));
  return { writer: endpointOf(primary), readers: replicas.filter((r): r is Endpoint => r !== null) };
}
