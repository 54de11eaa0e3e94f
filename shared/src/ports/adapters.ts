// The bundle of ports every entry point (Lambda handler, local server, pooler config source) gets
// from createAwsAdapters(env) (shared/src/aws/adapters.ts) or createLocalAdapters(stateDir)
// (shared/src/local/adapters.ts).
import type { ClusterAdminSecrets } from './cluster-admin-secrets.ts';
import type { ConfigChannel } from './config-channel.ts';
import type { SecretBox } from './secret-box.ts';
import type { BudgetLeaseStore, ClusterStore, HeartbeatStore, NodeLeaseStore, TenantStore } from './store.ts';
import type { Topology } from './topology.ts';

export interface Adapters {
  tenants: TenantStore;
  clusters: ClusterStore;
  heartbeats: HeartbeatStore;
  /** Cancel-key node ids of the running poolers, with their peer addresses (pooler/src/cluster/node-lease.ts). */
  nodes: NodeLeaseStore;
  /** The live poolers' shares of the connection budgets (shared/src/domain/budget.ts). */
  budgets: BudgetLeaseStore;
  secrets: SecretBox;
  config: ConfigChannel;
  topology: Topology;
  /**
   * Reads cluster admin credentials kept in a secret store (`admin.secretArn`). Absent where there
   * is none (local mode): such clusters cannot be provisioned there.
   */
  adminSecrets?: ClusterAdminSecrets;
  /** Releases clients / connections (tests and the local server call it on shutdown). */
  close(): Promise<void>;
}
