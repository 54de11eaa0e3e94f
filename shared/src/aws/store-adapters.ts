// createAwsStoreAdapters(env): the ports a pooler's AWS config source reads — the table's stores,
// KMS and the SSM config channel — without RDS, Secrets Manager or the static topology (pg), which
// only the control plane uses (the pooler does not describe RDS: aws-source.ts). Loading those SDK
// clients and pg costs a pooler ≈ 5 MB of heap it never uses (bench/README.md, "Tried for issue 15").
// createAwsAdapters (adapters.ts) adds them for the control plane.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Adapters } from '../ports/adapters.ts';
import { DynamoBudgetLeaseStore } from './dynamo-budget-leases.ts';
import { DynamoNodeLeaseStore } from './dynamo-node-leases.ts';
import { DynamoClusterStore, DynamoHeartbeatStore, DynamoTenantStore } from './dynamo-store.ts';
import { readAwsEnv, type AwsEnv } from './env.ts';
import { KmsSecretBox } from './kms-secret-box.ts';
import { SsmConfigChannel } from './ssm-config-channel.ts';

/**
 * Every SDK call is bounded. The SDK's default HTTP handler has no request timeout: a call on a
 * connection that accepts and never answers (an endpoint gone silent, a half-open connection a NAT
 * dropped) waits for good — and the pooler's reloads run one after another (config/sources/
 * controller.ts), so one such call would hold every later reload, failover targets included.
 * A call normally takes milliseconds; the SDK retries a timed-out attempt (3 attempts in all).
 */
export const BOUNDED_REQUESTS = { requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true } };

export interface AwsStoreClients {
  dynamodb: DynamoDBClient;
  kms: KMSClient;
  ssm: SSMClient;
}

export interface AwsStoreAdaptersOptions {
  /** Injected clients (tests); defaults are created from the SDK's environment. */
  clients?: Partial<AwsStoreClients>;
  now?: () => Date;
}

export type AwsStoreAdapters = Omit<Adapters, 'topology' | 'adminSecrets'> & { readonly clients: AwsStoreClients; readonly doc: DynamoDBDocumentClient };

/** The DocumentClient settings every adapter relies on: undefined optional fields are simply omitted. */
export function documentClient(dynamodb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
}

export function createAwsStoreAdapters(envOrConfig: NodeJS.ProcessEnv | AwsEnv = process.env, opts: AwsStoreAdaptersOptions = {}): AwsStoreAdapters {
  const env = isAwsEnv(envOrConfig) ? envOrConfig : readAwsEnv(envOrConfig);
  const clients: AwsStoreClients = {
    dynamodb: opts.clients?.dynamodb ?? new DynamoDBClient(BOUNDED_REQUESTS),
    kms: opts.clients?.kms ?? new KMSClient(BOUNDED_REQUESTS),
    ssm: opts.clients?.ssm ?? new SSMClient(BOUNDED_REQUESTS),
  };
  const doc = documentClient(clients.dynamodb);
  const storeOpts = { doc, table: env.table, ...(opts.now ? { now: opts.now } : {}) };
  return {
    clients,
    doc,
    tenants: new DynamoTenantStore(storeOpts),
    clusters: new DynamoClusterStore(storeOpts),
    heartbeats: new DynamoHeartbeatStore(storeOpts),
    nodes: new DynamoNodeLeaseStore(storeOpts),
    budgets: new DynamoBudgetLeaseStore(storeOpts),
    secrets: new KmsSecretBox(clients.kms, env.kmsKeyId),
    config: new SsmConfigChannel({ ssm: clients.ssm, doc, table: env.table, stage: env.stage, poolerTag: env.poolerTag }),
    close: async () => {
      for (const c of Object.values(clients)) c.destroy();
    },
  };
}

export function isAwsEnv(x: NodeJS.ProcessEnv | AwsEnv): x is AwsEnv {
  return typeof (x as AwsEnv).poolerTag === 'object';
}
