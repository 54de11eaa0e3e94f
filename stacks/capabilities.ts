// What each function may do, named as capabilities and resolved to IAM statements in one place.
// The API routes and the failover functions list their capabilities as data, so the tests can
// check every role against the same table the stacks were built from.
import type { Stack } from 'aws-cdk-lib';
import type { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { clusterAdminSecretRead, clusterTargetsDelete, keyDecrypt, keyEncrypt, parametersRead, parametersWrite, rdsDescribe, sendReloadCommand, tableRead, tableWrite } from './permissions.ts';
import { WILDCARDS, type Wildcard } from './nag.ts';
import type { StageConfig } from './settings.ts';
import type { StorageOutputs } from './Storage.ts';

export type Capability =
  /** Get/query tenants, clusters, heartbeats. */
  | 'table:read'
  /** Conditional writes of tenants and clusters. */
  | 'table:write'
  /** Encrypt a tenant's destination password (context must name tenantId). */
  | 'key:encrypt-tenant'
  /** Encrypt a cluster's admin credentials (context must name clusterId). */
  | 'key:encrypt-cluster'
  /** Decrypt a tenant's destination password (context must name tenantId). */
  | 'key:decrypt-tenant'
  /** Decrypt a cluster's admin credentials to provision a tenant's role on it (context names clusterId). */
  | 'key:decrypt-cluster'
  /** Read cluster targets and the config version under /switchyard/<stage>/. */
  | 'parameters:read'
  /** Write cluster targets and bump the config version. */
  | 'parameters:write'
  /** Delete a cluster's published targets (`clusters/<id>` parameters only). */
  | 'parameters:delete-cluster-targets'
  /** SendCommand AWS-RunShellScript (`systemctl reload switchyard`) to this stage's poolers. */
  | 'poolers:reload'
  /** Describe the configured RDS clusters and instances to find the writer. */
  | 'rds:describe'
  /**
   * Read a cluster's admin credentials from its RDS-managed Secrets Manager secret (`rds!*`), and
   * decrypt it through Secrets Manager when it uses a customer managed key named in the config.
   */
  | 'secrets:read-cluster-admin';

export interface CapabilityContext {
  readonly stack: Stack;
  readonly stage: string;
  readonly storage: StorageOutputs;
  readonly config: StageConfig;
}

export function statementsFor(capabilities: readonly Capability[], ctx: CapabilityContext): PolicyStatement[] {
  return capabilities.flatMap((c): PolicyStatement[] => {
    switch (c) {
      case 'table:read':
        return [tableRead(ctx.storage.table)];
      case 'table:write':
        return [tableWrite(ctx.storage.table)];
      case 'key:encrypt-tenant':
        return [keyEncrypt(ctx.storage.key, ['tenantId'])];
      case 'key:encrypt-cluster':
        return [keyEncrypt(ctx.storage.key, ['clusterId'])];
      case 'key:decrypt-tenant':
        return [keyDecrypt(ctx.storage.key, ['tenantId'])];
      case 'key:decrypt-cluster':
        return [keyDecrypt(ctx.storage.key, ['clusterId'])];
      case 'parameters:read':
        return [parametersRead(ctx.stack, ctx.stage)];
      case 'parameters:write':
        return [parametersWrite(ctx.stack, ctx.stage)];
      case 'parameters:delete-cluster-targets':
        return [clusterTargetsDelete(ctx.stack, ctx.stage)];
      case 'poolers:reload':
        return sendReloadCommand(ctx.stack, ctx.stage);
      case 'rds:describe':
        return rdsDescribe(ctx.stack, ctx.config.clusters);
      case 'secrets:read-cluster-admin':
        return clusterAdminSecretRead(ctx.stack, ctx.config.clusters);
    }
  });
}

/** The wildcard resources the capabilities' statements contain (each justified in nag.ts). */
export function wildcardsFor(capabilities: readonly Capability[]): Wildcard[] {
  const out = new Set<Wildcard>();
  for (const c of capabilities) {
    if (c === 'parameters:read' || c === 'parameters:write') out.add(WILDCARDS.parameterPath);
    if (c === 'parameters:delete-cluster-targets') out.add(WILDCARDS.clusterTargetParameters);
    if (c === 'poolers:reload') out.add(WILDCARDS.poolerInstances);
    if (c === 'rds:describe') out.add(WILDCARDS.rdsInstances);
    if (c === 'secrets:read-cluster-admin') out.add(WILDCARDS.rdsManagedSecrets);
  }
  return [...out];
}

/**
 * After a stored change: bump the config version (an atomic counter row in the table, then
 * PutParameter) and push a reload (functions/lib/announce.ts).
 */
const announce: readonly Capability[] = ['table:write', 'parameters:write', 'poolers:reload'];

export interface FunctionSpec {
  /** Function construct id (also names its log group and role). */
  readonly id: string;
  readonly handler: string;
  readonly capabilities: readonly Capability[];
  /**
   * The function connects to the target databases as their admin (provisioning, purge, metrics:
   * functions/lib/cluster-admin.ts), so it runs in the stage's subnets with a security group the
   * databases admit.
   */
  readonly databaseAccess?: boolean;
}

export interface RouteSpec extends FunctionSpec {
  readonly route: string;
}

// Capabilities follow what each handler calls (functions/api/*.ts through shared/src/aws/*).
/** The control API (docs/architecture.md "The parts"): one handler file per route. */
export const API_ROUTES: readonly RouteSpec[] = [
  {
    route: 'POST /tenants',
    id: 'TenantsCreate',
    handler: 'functions/api/tenants-create.handler',
    // Encrypts the new destination password; decrypts it again to compare an idempotent replay
    // and to provision; decrypts the cluster's admin password (or reads its Secrets Manager
    // secret) to create the role.
    capabilities: ['table:read', ...announce, 'key:encrypt-tenant', 'key:decrypt-tenant', 'key:decrypt-cluster', 'secrets:read-cluster-admin'],
    databaseAccess: true,
  },
  { route: 'GET /tenants', id: 'TenantsList', handler: 'functions/api/tenants-list.handler', capabilities: ['table:read'] },
  { route: 'GET /tenants/{id}', id: 'TenantsGet', handler: 'functions/api/tenants-get.handler', capabilities: ['table:read'] },
  {
    route: 'PATCH /tenants/{id}',
    id: 'TenantsUpdate',
    handler: 'functions/api/tenants-update.handler',
    // A destination change encrypts the new password under { tenantId, clusterId }; a move to
    // another cluster without one decrypts the stored password (old context) to re-encrypt it.
    capabilities: ['table:read', ...announce, 'key:encrypt-tenant', 'key:decrypt-tenant'],
  },
  {
    route: 'DELETE /tenants/{id}',
    id: 'TenantsDelete',
    handler: 'functions/api/tenants-delete.handler',
    // A purge drops the tenant's role and database as the cluster's admin.
    capabilities: ['table:read', ...announce, 'key:decrypt-cluster', 'secrets:read-cluster-admin'],
    databaseAccess: true,
  },
  {
    route: 'POST /tenants/{id}/rotate-password',
    id: 'TenantsRotatePassword',
    handler: 'functions/api/tenants-rotate-password.handler',
    capabilities: ['table:read', ...announce],
  },
  {
    route: 'GET /tenants/{id}/metrics',
    id: 'TenantsMetrics',
    handler: 'functions/api/tenants-metrics.handler',
    // Reads pg_database_size / pg_stat_activity as the admin, or as the tenant's own role.
    capabilities: ['table:read', 'key:decrypt-cluster', 'key:decrypt-tenant', 'secrets:read-cluster-admin'],
    databaseAccess: true,
  },
  {
    route: 'GET /tenants/{id}/statements',
    id: 'TenantsStatements',
    handler: 'functions/api/tenants-statements.handler',
    // Reads the tenant and the poolers' heartbeats; no database, no key.
    capabilities: ['table:read'],
  },
  {
    route: 'POST /clusters',
    id: 'ClustersCreate',
    handler: 'functions/api/clusters-create.handler',
    // Describes the cluster to find its writer, publishes its targets, encrypts its admin password;
    // decrypts it again to compare an idempotent replay; deletes targets a deleted cluster of the
    // same id left behind.
    capabilities: ['table:read', ...announce, 'parameters:read', 'parameters:delete-cluster-targets', 'key:encrypt-cluster', 'key:decrypt-cluster', 'rds:describe'],
  },
  {
    route: 'DELETE /clusters/{id}',
    id: 'ClustersDelete',
    handler: 'functions/api/clusters-delete.handler',
    // Lists the cluster's tenants (byCluster index), deletes its targets parameter and its row.
    capabilities: ['table:read', ...announce, 'parameters:delete-cluster-targets'],
  },
  { route: 'GET /clusters', id: 'ClustersList', handler: 'functions/api/clusters-list.handler', capabilities: ['table:read'] },
  // The cluster with its tenants (byCluster index) and the budget leases row.
  { route: 'GET /clusters/{id}', id: 'ClustersGet', handler: 'functions/api/clusters-get.handler', capabilities: ['table:read'] },
  {
    route: 'PATCH /clusters/{id}',
    id: 'ClustersUpdate',
    handler: 'functions/api/clusters-update.handler',
    // Sets the budget figures on the cluster row, then bumps the config version and tells the poolers.
    capabilities: ['table:read', ...announce],
  },
  { route: 'GET /poolers', id: 'PoolersList', handler: 'functions/api/poolers-list.handler', capabilities: ['table:read', 'parameters:read'] },
  { route: 'GET /openapi.json', id: 'OpenApi', handler: 'functions/api/openapi.handler', capabilities: [] },
];

/** The failover side: an RDS event or the minute tick re-reads topology and publishes changes. */
export const FAILOVER_FUNCTIONS = {
  rdsEvent: {
    id: 'RdsEvent',
    handler: 'functions/failover/rds-event.handler',
    capabilities: ['table:read', ...announce, 'parameters:read', 'rds:describe'],
  },
  reconcile: {
    id: 'Reconcile',
    handler: 'functions/failover/reconcile.handler',
    capabilities: ['table:read', ...announce, 'parameters:read', 'rds:describe'],
  },
} as const satisfies Record<string, FunctionSpec>;
