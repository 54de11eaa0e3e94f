// The pooler reads its tenants and targets from one of three sources behind this interface
// (docs/architecture.md, "Where state lives on AWS", "Local mode"):
// - file:  the YAML file (config/load.ts); SIGHUP, the admin RELOAD or a file change re-read it;
// - local: the local control plane's stores in a state directory (shared/src/local);
// - aws:   DynamoDB tenants, SSM cluster targets and config version, KMS-encrypted passwords.
// A SourceController (controller.ts) drives a source for a running Pooler.
import type { PoolerHeartbeatInput } from '../../../../shared/src/domain/heartbeat.ts';
import type { BudgetLeaseStore, NodeLeaseStore } from '../../../../shared/src/ports/store.ts';
import type { PoolerConfig } from '../schema.ts';

export type SourceKind = 'file' | 'local' | 'aws';

export interface SourceLoad {
  config: PoolerConfig;
  /** The published config version this load reflects (local/aws); undefined for the file source. */
  version: number | undefined;
  /**
   * When this routing goes stale without any change being published (a password rotation's
   * grace period ends), epoch ms: the controller loads again then.
   */
  staleAt?: number | undefined;
}

export interface ConfigSource {
  readonly kind: SourceKind;
  /** Reads everything. Throws when the source cannot be read: the caller keeps its snapshot. */
  load(): Promise<SourceLoad>;
  /** The version published now, cheaply (local/aws); the controller reloads when it differs from the applied one. */
  publishedVersion?(): Promise<number>;
  /**
   * A pool of `tenantId` doubts its target (a standby, refused, read-only): look for fresher
   * targets. Resolves true when the routing changed; routing() then gives it. Cheap to call
   * often: a source coalesces and throttles these per destination.
   */
  refreshTargets?(tenantId: string): Promise<boolean>;
  /** The routing from what the source holds now, without reading the store again (after refreshTargets). */
  routing?(): Promise<SourceLoad>;
  /** Starts watching for changes (file source with --watch); `changed` asks for a reload. */
  watch?(changed: (reason: string) => void): void;
  /** Records this pooler's heartbeat (local/aws HeartbeatStore). */
  putHeartbeat?(heartbeat: PoolerHeartbeatInput): Promise<void>;
  /** The store's cancel-key node id leases (local/aws), for `cluster.node_id: auto` (cluster/node-lease.ts). */
  readonly nodeLeases?: NodeLeaseStore;
  /** The store's fleet budget leases (local/aws; budget-lease.ts). */
  readonly budgetLeases?: BudgetLeaseStore;
  /** From the last load: each tenant's cluster and each cluster's connection budget (local/aws). */
  budgetInputs?(): { clusterOf: ReadonlyMap<string, string>; clusterBudgets: ReadonlyMap<string, number> };
  close(): Promise<void>;
}
