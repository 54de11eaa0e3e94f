// Observes a cluster's current writer and readers. AWS: the RDS API (aurora, rds-instance);
// local/static: ask each member `SELECT pg_is_in_recovery()`. Feed the result to
// applyWriterChange() (domain/writer-change.ts). Never trusts an event's own content.
import type { Cluster } from '../domain/cluster.ts';
import type { ObservedTopology } from '../domain/writer-change.ts';

export type { ObservedTopology };

/**
 * What describe needs: a stored Cluster fits, and so does a cluster being registered whose
 * writer is not known yet (describe it first, then create it with the observed writer).
 */
export type TopologySubject = Pick<Cluster, 'clusterId' | 'kind'> &
  Partial<Pick<Cluster, 'rds' | 'members' | 'admin' | 'writer' | 'readers'>>;

export interface Topology {
  /** `writer` null when no member is currently a writer (e.g. mid-failover). */
  describe(cluster: TopologySubject): Promise<ObservedTopology>;
  /**
   * The writer's max_connections, asked of the server itself (local/static: PgTopology), the basis
   * of the cluster's connection budget (domain/budget.ts). Absent where it cannot be asked (RDS:
   * set `maxConnections` through the API); undefined when the server could not be reached.
   */
  maxConnections?(cluster: TopologySubject): Promise<number | undefined>;
}
