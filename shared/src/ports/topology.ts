// Observes a cluster's current writer and readers. AWS: the RDS API (aurora, rds-instance);
// local/static: ask each member `SELECT pg_is_in_recovery()`. Feed the result to
// applyWriterChange() (domain/writer-change.ts). Never trusts an event's own content.
import type { Cluster } from '../domain/cluster.ts';
import type { ObservedTopology } from '../domain/writer-change.ts';

export type { ObservedTopology };

export interface Topology {
  /** `writer` null when no member is currently a writer (e.g. mid-failover). */
  describe(cluster: Cluster): Promise<ObservedTopology>;
}
