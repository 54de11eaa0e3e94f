// Names the infrastructure shares with the code it runs (docs/architecture.md, "Where state lives on
// AWS"). The functions and the pooler read these values from environment variables the stacks set,
// so this file is the infrastructure's side of the contract; the handlers' side is the env names.

/** Environment variables every Lambda function and every pooler instance receives. */
export const ENV = {
  table: 'SWITCHYARD_TABLE',
  kmsKeyId: 'SWITCHYARD_KMS_KEY_ID',
  stage: 'SWITCHYARD_STAGE',
  poolerTag: 'SWITCHYARD_POOLER_TAG',
} as const;

/** The tag that marks pooler instances: SendCommand may only reach instances carrying it. */
export const POOLER_TAG = { key: 'switchyard:role', value: 'pooler' } as const;
/** `SWITCHYARD_POOLER_TAG` value: `key=value`, as the functions pass it to SendCommand Targets. */
export const POOLER_TAG_ENV_VALUE = `${POOLER_TAG.key}=${POOLER_TAG.value}`;
/**
 * Second tag on every pooler: the stage. IAM conditions on it too, so one stage's control plane
 * can never reload another stage's fleet in a shared account.
 */
export const STAGE_TAG_KEY = 'switchyard:stage';

/** SSM Parameter Store prefix of a stage (`clusters/<id>`, `config-version` live below it). */
export function parameterPath(stage: string): string {
  return `/switchyard/${stage}/`;
}

/** Keys of the KMS encryption context that protects destination passwords. */
export const ENCRYPTION_CONTEXT_KEYS = ['tenantId', 'clusterId'] as const;

/** The DynamoDB table's key schema and its one GSI (lists the tenants of a cluster). */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byCluster: { indexName: 'byCluster', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

/** The SSM document the control plane runs on poolers (`systemctl reload switchyard`). */
export const RELOAD_DOCUMENT = 'AWS-RunShellScript';

/**
 * The custom metric behind the stale-pooler alarm: the number of poolers whose last applied
 * config version is behind the fleet's `config-version` parameter. Published by the scheduled
 * reconcile function (CloudWatch embedded metric format), dimension `Stage`.
 */
export const STALE_POOLERS_METRIC = { namespace: 'Switchyard', name: 'StalePoolers', dimension: 'Stage' } as const;

/**
 * Pooler process ports (pooler/src/main.ts): clients, health + Prometheus metrics, and the peer
 * port where the other poolers forward CancelRequests (cluster.peer_port, docs/workers.md).
 */
export const POOLER_PORTS = { client: 5432, health: 9127, cancel: 9128 } as const;
