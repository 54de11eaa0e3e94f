// Storage: where Switchyard's state lives (docs/architecture.md, "Where state lives on AWS").
// - The single DynamoDB table (tenants, clusters, pooler heartbeats) with the byCluster GSI.
// - The customer-managed KMS key that encrypts destination passwords under {tenantId, clusterId}.
// - The SSM parameter path of the stage. Its parameters are created by the control plane on first
//   write, never by CloudFormation: a template value would reset config-version to its initial
//   value whenever the resource is updated, and a version must only grow.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Alias, Key } from 'aws-cdk-lib/aws-kms';
import { Table, type StackContext } from 'sst/constructs';
import { TABLE_KEYS, parameterPath } from './contract.ts';
import { parameterArns } from './permissions.ts';
import { useSettings } from './settings.ts';

export interface StorageOutputs {
  readonly table: ITable;
  readonly key: Key;
  readonly keyAlias: Alias;
  readonly parameterPath: string;
  readonly parameterArns: string[];
  readonly production: boolean;
  /** RETAIN in production stages, DESTROY elsewhere: applied to every stateful resource. */
  readonly removalPolicy: RemovalPolicy;
}

export function Storage({ stack, app }: StackContext): StorageOutputs {
  const { config } = useSettings(app);
  const production = config.production;
  const removalPolicy = production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  // Rotation keeps old key material for decrypting old ciphertexts, so no re-encryption is ever
  // needed (KMS developer guide, "Rotating AWS KMS keys").
  const key = new Key(stack, 'CredentialsKey', {
    description: `Switchyard ${app.stage}: destination passwords, encryption context {tenantId, clusterId}`,
    enableKeyRotation: true,
    rotationPeriod: Duration.days(365),
    pendingWindow: Duration.days(production ? 30 : 7),
    removalPolicy,
  });
  const keyAlias = new Alias(stack, 'CredentialsKeyAlias', {
    aliasName: `alias/switchyard/${app.stage}`,
    targetKey: key,
    removalPolicy,
  });

  const table = new Table(stack, 'Table', {
    fields: {
      [TABLE_KEYS.partitionKey]: 'string',
      [TABLE_KEYS.sortKey]: 'string',
      [TABLE_KEYS.byCluster.partitionKey]: 'string',
      [TABLE_KEYS.byCluster.sortKey]: 'string',
    },
    primaryIndex: { partitionKey: TABLE_KEYS.partitionKey, sortKey: TABLE_KEYS.sortKey },
    globalIndexes: {
      [TABLE_KEYS.byCluster.indexName]: { partitionKey: TABLE_KEYS.byCluster.partitionKey, sortKey: TABLE_KEYS.byCluster.sortKey },
    },
    // Heartbeats and idempotency keys carry `ttl` (shared/src/aws/dynamo-keys.ts); expiring them
    // keeps the table small. Nothing depends on the deletion happening on time.
    timeToLiveAttribute: 'ttl',
    cdk: {
      table: {
        // SST sets the deprecated boolean; the specification replaces it (CDK refuses both).
        pointInTimeRecovery: undefined,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: production,
        removalPolicy,
      },
    },
  });

  const path = parameterPath(app.stage);
  stack.addOutputs({
    TableName: table.tableName,
    KeyArn: key.keyArn,
    KeyAlias: keyAlias.aliasName,
    ParameterPath: path,
  });
  return { table: table.cdk.table, key, keyAlias, parameterPath: path, parameterArns: parameterArns(stack, app.stage), production, removalPolicy };
}
