// Least-privilege IAM statements, one builder per capability. Every function and the pooler role
// are assembled from these, so "what may touch the key" has exactly one answer per capability.
// Resource ARN formats: Service Authorization Reference (docs.aws.amazon.com/service-authorization),
// pages for DynamoDB, KMS, Systems Manager, EC2, RDS and Secrets Manager.
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { ENCRYPTION_CONTEXT_KEYS, POOLER_TAG, RELOAD_DOCUMENT, STAGE_TAG_KEY, TABLE_KEYS, parameterPath } from './contract.ts';
import type { ClusterConfig } from './settings.ts';

function tableResources(table: ITable): string[] {
  return [table.tableArn, `${table.tableArn}/index/${TABLE_KEYS.byCluster.indexName}`];
}

/** Read items, query and scan the table and its GSI (shared/src/aws/dynamo-store.ts). */
export function tableRead(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'TableRead',
    effect: Effect.ALLOW,
    actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
    resources: tableResources(table),
  });
}

/**
 * Write items (conditional puts, updates, deletes; TransactWriteItems is authorised per item by
 * these same actions). Writes go to the base table only: a GSI is never written directly.
 */
export function tableWrite(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'TableWrite',
    effect: Effect.ALLOW,
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    resources: [table.tableArn],
  });
}

/**
 * A pooler writes only its own heartbeat rows: `dynamodb:LeadingKeys` restricts the partition key
 * of every item it writes to the heartbeat prefix (DynamoDB developer guide, "Using IAM policy
 * conditions for fine-grained access control").
 */
export function tableHeartbeatWrite(table: ITable, partitionKeyPattern: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'HeartbeatWrite',
    effect: Effect.ALLOW,
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [partitionKeyPattern] } },
  });
}

/**
 * Context conditions shared by encrypt and decrypt: the request must carry an encryption context
 * (`Null` guards the empty set, which `ForAllValues` would otherwise accept) made only of our keys,
 * and must name the key that scopes the secret (tenantId for tenant passwords, clusterId for
 * cluster admin credentials). A cluster-scoped grant also requires tenantId to be ABSENT: tenant
 * contexts are { tenantId, clusterId } (shared/src/domain/tenant.ts), so "clusterId present" alone
 * would let a function that may open cluster admin credentials open every tenant's password on
 * that cluster too. KMS developer guide, "kms:EncryptionContextKeys",
 * "kms:EncryptionContext:context-key"; IAM user guide, "Null condition operator" ('true' = the key
 * is absent from the request).
 */
function contextConditions(required: readonly ('tenantId' | 'clusterId')[]): Record<string, Record<string, unknown>> {
  const isNull: Record<string, string> = { 'kms:EncryptionContextKeys': 'false' };
  for (const key of required) isNull[`kms:EncryptionContext:${key}`] = 'false';
  if (!required.includes('tenantId')) isNull['kms:EncryptionContext:tenantId'] = 'true';
  return {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...ENCRYPTION_CONTEXT_KEYS] },
    Null: isNull,
  };
}

/** "Tenant", "Cluster" (or both) for a statement id: which secrets the grant opens. */
function scopeSuffix(required: readonly ('tenantId' | 'clusterId')[]): string {
  return required.map((k) => (k === 'tenantId' ? 'Tenant' : 'Cluster')).join('');
}

/** Encrypt destination passwords under the credentials key, only with our encryption context. */
export function keyEncrypt(key: IKey, required: readonly ('tenantId' | 'clusterId')[]): PolicyStatement {
  return new PolicyStatement({
    // Unique per policy (IAM "Sid" element): a role may hold both a tenant and a cluster grant.
    sid: `KeyEncrypt${scopeSuffix(required)}`,
    effect: Effect.ALLOW,
    actions: ['kms:Encrypt'],
    resources: [key.keyArn],
    conditions: contextConditions(required),
  });
}

/** Decrypt destination passwords, only with our encryption context. */
export function keyDecrypt(key: IKey, required: readonly ('tenantId' | 'clusterId')[]): PolicyStatement {
  return new PolicyStatement({
    sid: `KeyDecrypt${scopeSuffix(required)}`,
    effect: Effect.ALLOW,
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: contextConditions(required),
  });
}

/** ARNs of the stage's parameter path: the path itself (GetParametersByPath) and everything under it. */
export function parameterArns(stack: Stack, stage: string): string[] {
  const path = parameterPath(stage).replace(/^\/|\/$/g, '');
  const arn = (resourceName: string) => Arn.format({ service: 'ssm', resource: 'parameter', resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
  return [arn(path), arn(`${path}/*`)];
}

export function parametersRead(stack: Stack, stage: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'ParametersRead',
    effect: Effect.ALLOW,
    actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
    resources: parameterArns(stack, stage),
  });
}

export function parametersWrite(stack: Stack, stage: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'ParametersWrite',
    effect: Effect.ALLOW,
    actions: ['ssm:PutParameter'],
    resources: parameterArns(stack, stage).slice(1),
  });
}

/**
 * Delete a cluster's published targets (DELETE /clusters/{id}): only the `clusters/<id>` parameters
 * of this stage, never the config version.
 */
export function clusterTargetsDelete(stack: Stack, stage: string): PolicyStatement {
  const path = parameterPath(stage).replace(/^\/|\/$/g, '');
  return new PolicyStatement({
    sid: 'ClusterTargetsDelete',
    effect: Effect.ALLOW,
    actions: ['ssm:DeleteParameter'],
    resources: [Arn.format({ service: 'ssm', resource: 'parameter', resourceName: `${path}/clusters/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack)],
  });
}

/**
 * SendCommand needs permission on the document and on every target instance (Systems Manager
 * user guide, "Restricting Run Command access based on tags"). Instances qualify only when they
 * carry both the pooler role tag and this stage's tag.
 */
export function sendReloadCommand(stack: Stack, stage: string): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'ReloadDocument',
      effect: Effect.ALLOW,
      actions: ['ssm:SendCommand'],
      // AWS-owned documents have no account in their ARN.
      resources: [Arn.format({ service: 'ssm', account: '', resource: 'document', resourceName: RELOAD_DOCUMENT }, stack)],
    }),
    new PolicyStatement({
      sid: 'ReloadPoolers',
      effect: Effect.ALLOW,
      actions: ['ssm:SendCommand'],
      resources: [Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack)],
      conditions: {
        StringEquals: {
          [`ssm:resourceTag/${POOLER_TAG.key}`]: POOLER_TAG.value,
          [`ssm:resourceTag/${STAGE_TAG_KEY}`]: stage,
        },
      },
    }),
  ];
}

/**
 * Read the topology of the configured clusters: their members and which one is the writer.
 * DescribeDBInstances is allowed on every instance in the account and region because an Aurora
 * cluster's members come and go; the clusters themselves are named one by one.
 */
export function rdsDescribe(stack: Stack, clusters: readonly ClusterConfig[]): PolicyStatement[] {
  const rds = (region: string | undefined, resource: string, resourceName: string) =>
    Arn.format({ service: 'rds', ...(region ? { region } : {}), resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack);
  const rdsClusters = clusters.filter((c) => c.kind !== 'static');
  // One entry per region in use, the stage's own region first (undefined = the stack's region).
  const regions = [...new Set(rdsClusters.map((c) => c.region))].sort((a, b) => (a ?? '').localeCompare(b ?? ''));
  const aurora = rdsClusters.filter((c) => c.kind === 'aurora');
  const statements = [
    new PolicyStatement({
      sid: 'RdsDescribeInstances',
      effect: Effect.ALLOW,
      actions: ['rds:DescribeDBInstances'],
      resources: regions.map((r) => rds(r, 'db', '*')),
    }),
  ];
  if (aurora.length > 0) {
    statements.push(
      new PolicyStatement({
        sid: 'RdsDescribeClusters',
        effect: Effect.ALLOW,
        actions: ['rds:DescribeDBClusters'],
        resources: aurora.map((c) => rds(c.region, 'cluster', c.rdsIdentifier ?? '')),
      }),
    );
  }
  return statements.filter((s) => s.resources.length > 0);
}

/** Name prefix of the secrets RDS creates for managed master passwords (`rds!cluster-<uuid>`, `rds!db-<uuid>`). */
export const RDS_MANAGED_SECRET_PREFIX = 'rds!';

/**
 * Read the admin credentials of clusters whose master password RDS manages in Secrets Manager
 * (shared/src/aws/secrets-manager-admin-secrets.ts): DescribeSecret (the ownership tag is checked
 * before the value is read) and GetSecretValue, on secrets with the `rds!` name prefix RDS reserves
 * for them, in this account, in the regions of the configured clusters — and only those RDS tagged
 * as the master secret of a cluster or instance in the stage config
 * (`secretsmanager:ResourceTag/aws:rds:primaryDBClusterArn` / `…/aws:rds:primaryDBInstanceArn`;
 * keys under `aws:` are set by AWS only). Without that condition a caller of the API could register
 * a cluster naming any RDS master secret of the account. Static clusters get nothing: they cannot
 * have an RDS-managed secret, and their writer is whatever address they were registered with.
 *
 * KMS: RDS encrypts the secret with `aws/secretsmanager` unless told otherwise; that AWS managed
 * key's policy already lets principals of the account decrypt through Secrets Manager, so nothing
 * is granted for it. A cluster whose secret uses a customer managed key names the key in the
 * stage config (adminSecretKmsKeyArn); kms:Decrypt is granted on exactly those keys and only when
 * Secrets Manager makes the call (kms:ViaService) for an `rds!` secret (Secrets Manager puts the
 * secret's ARN in the encryption context as SecretARN: Secrets Manager user guide, "Secret
 * encryption and decryption in AWS Secrets Manager"). The key's own policy must allow it too
 * (as for any customer managed key that delegates to IAM).
 */
export function clusterAdminSecretRead(stack: Stack, clusters: readonly ClusterConfig[]): PolicyStatement[] {
  // The stage's own region (the secrets of clusters registered without a region) and every
  // configured cluster's region.
  const regions = [...new Set([stack.region, ...clusters.map((c) => c.region ?? stack.region)])];
  const secretArns = regions.map((region) =>
    Arn.format({ service: 'secretsmanager', region, resource: 'secret', resourceName: `${RDS_MANAGED_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack),
  );
  const rdsArn = (c: ClusterConfig, resource: 'cluster' | 'db') =>
    Arn.format({ service: 'rds', ...(c.region ? { region: c.region } : {}), resource, resourceName: c.rdsIdentifier ?? '', arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack);
  const owners = [
    { sid: 'ClusterAdminSecretReadAurora', tag: 'aws:rds:primaryDBClusterArn', arns: clusters.filter((c) => c.kind === 'aurora').map((c) => rdsArn(c, 'cluster')) },
    { sid: 'ClusterAdminSecretReadInstance', tag: 'aws:rds:primaryDBInstanceArn', arns: clusters.filter((c) => c.kind === 'rds-instance').map((c) => rdsArn(c, 'db')) },
  ];
  const statements = owners
    .filter((o) => o.arns.length > 0)
    .map(
      (o) =>
        new PolicyStatement({
          sid: o.sid,
          effect: Effect.ALLOW,
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          resources: secretArns,
          conditions: { StringEquals: { [`secretsmanager:ResourceTag/${o.tag}`]: o.arns } },
        }),
    );
  const keys = [...new Set(clusters.flatMap((c) => (c.adminSecretKmsKeyArn ? [c.adminSecretKmsKeyArn] : [])))].sort();
  if (keys.length > 0) {
    statements.push(
      new PolicyStatement({
        sid: 'ClusterAdminSecretKeyDecrypt',
        effect: Effect.ALLOW,
        actions: ['kms:Decrypt'],
        resources: keys,
        conditions: {
          StringEquals: { 'kms:ViaService': regions.map((region) => `secretsmanager.${region}.${stack.urlSuffix}`) },
          StringLike: { 'kms:EncryptionContext:SecretARN': secretArns },
        },
      }),
    );
  }
  return statements;
}

/**
 * What Lambda needs to attach a function to the VPC (the actions of the
 * AWSLambdaVPCAccessExecutionRole managed policy; Lambda developer guide, "Giving Lambda functions
 * access to resources in an Amazon VPC"). CDK adds that managed policy only to roles it creates.
 */
export function vpcNetworkInterfaces(): PolicyStatement {
  return new PolicyStatement({
    sid: 'VpcNetworkInterfaces',
    effect: Effect.ALLOW,
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ],
    resources: ['*'],
  });
}
