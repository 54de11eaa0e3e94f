// createAwsAdapters(env): every port on AWS, from the environment described in env.ts. Clients
// take region and credentials from the usual SDK chain; AWS_ENDPOINT_URL (read natively by SDK v3)
// points them all at an emulator in tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PgTopology } from '../local/pg-topology.ts';
import type { Adapters } from '../ports/adapters.ts';
import { DynamoBudgetLeaseStore } from './dynamo-budget-leases.ts';
import { DynamoNodeLeaseStore } from './dynamo-node-leases.ts';
import { DynamoClusterStore, DynamoHeartbeatStore, DynamoTenantStore } from './dynamo-store.ts';
import { readAwsEnv, type AwsEnv } from './env.ts';
import { KmsSecretBox } from './kms-secret-box.ts';
import { RdsTopology } from './rds-topology.ts';
import { SecretsManagerAdminSecrets } from './secrets-manager-admin-secrets.ts';
import { SsmConfigChannel } from './ssm-config-channel.ts';

/**
 * Every SDK call is bounded. The SDK's default HTTP handler has no request timeout: a call on a
 * connection that accepts and never answers (an endpoint gone silent, a half-open connection a NAT
 * dropped) waits for good — and the pooler's reloads run one after another (config/sources/
 * controller.ts), so one such call would hold every later reload, failover targets included.
 * A call normally takes milliseconds; the SDK retries a timed-out attempt (3 attempts in all).
 */
export const BOUNDED_REQUESTS = { requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true } };

export interface AwsClients {
  dynamodb: DynamoDBClient;
  kms: KMSClient;
  ssm: SSMClient;
  rds: RDSClient;
}

export interface AwsAdaptersOptions {
  /** Injected clients (tests); defaults are created from the SDK's environment. */
  clients?: Partial<AwsClients>;
  /**
   * Secrets Manager clients, one per region (a cluster admin secret is read in its own region,
   * from its ARN). Default: new SecretsManagerClient({ region }).
   */
  secretsManagerForRegion?: (region: string) => SecretsManagerClient;
  now?: () => Date;
}

/** The DocumentClient settings every adapter relies on: undefined optional fields are simply omitted. */
export function documentClient(dynamodb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
}

export function createAwsAdapters(envOrConfig: NodeJS.ProcessEnv | AwsEnv = process.env, opts: AwsAdaptersOptions = {}): Adapters {
  const env = isAwsEnv(envOrConfig) ? envOrConfig : readAwsEnv(envOrConfig);
  const clients: AwsClients = {
    dynamodb: opts.clients?.dynamodb ?? new DynamoDBClient(BOUNDED_REQUESTS),
    kms: opts.clients?.kms ?? new KMSClient(BOUNDED_REQUESTS),
    ssm: opts.clients?.ssm ?? new SSMClient(BOUNDED_REQUESTS),
    rds: opts.clients?.rds ?? new RDSClient(BOUNDED_REQUESTS),
  };
  const doc = documentClient(clients.dynamodb);
  const storeOpts = { doc, table: env.table, ...(opts.now ? { now: opts.now } : {}) };
  const secrets = new KmsSecretBox(clients.kms, env.kmsKeyId);
  const adminSecrets = new SecretsManagerAdminSecrets(opts.secretsManagerForRegion ? { clientForRegion: opts.secretsManagerForRegion } : {});
  return {
    tenants: new DynamoTenantStore(storeOpts),
    clusters: new DynamoClusterStore(storeOpts),
    heartbeats: new DynamoHeartbeatStore(storeOpts),
    nodes: new DynamoNodeLeaseStore(storeOpts),
    budgets: new DynamoBudgetLeaseStore(storeOpts),
    secrets,
    config: new SsmConfigChannel({ ssm: clients.ssm, doc, table: env.table, stage: env.stage, poolerTag: env.poolerTag }),
    topology: new RdsTopology({ rds: clients.rds, staticTopology: new PgTopology({ secrets }) }),
    adminSecrets,
    close: async () => {
      for (const c of Object.values(clients)) c.destroy();
      adminSecrets.destroy();
    },
  };
}

function isAwsEnv(x: NodeJS.ProcessEnv | AwsEnv): x is AwsEnv {
  return typeof (x as AwsEnv).poolerTag === 'object';
}
