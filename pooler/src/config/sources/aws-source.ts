// AWS as a config source (docs/architecture.md, "Where state lives on AWS"): tenants from the DynamoDB
// table, cluster targets and the config version from SSM Parameter Store, destination passwords
// decrypted with KMS under { tenantId, clusterId } and cached in memory only, heartbeats written
// back to the table. Environment: SWITCHYARD_TABLE, SWITCHYARD_KMS_KEY_ID, SWITCHYARD_STAGE (and
// AWS_REGION / the usual credential chain; AWS_ENDPOINT_URL for an emulator) — see
// shared/src/aws/env.ts. The pooler does not describe RDS itself: the control plane's failover
// handler publishes new targets, and a doubting pool re-reads them from SSM. So it loads the store
// adapters only (shared/src/aws/store-adapters.ts): no RDS or Secrets Manager client, no pg.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { BOUNDED_REQUESTS, createAwsStoreAdapters, documentClient, type AwsStoreAdaptersOptions } from '../../../../shared/src/aws/store-adapters.ts';
import { DynamoNodeLeaseStore } from '../../../../shared/src/aws/dynamo-node-leases.ts';
import { readAwsEnv, type AwsEnv } from '../../../../shared/src/aws/env.ts';
import { KmsSecretBox } from '../../../../shared/src/aws/kms-secret-box.ts';
import type { SecretBox } from '../../../../shared/src/ports/secret-box.ts';
import type { Topology } from '../../../../shared/src/ports/topology.ts';
import type { NodeLeaseStore } from '../../../../shared/src/ports/store.ts';
import type { Logger } from '../../log.ts';
import type { PoolerConfig } from '../schema.ts';
import { StoreSource } from './store-source.ts';

export interface AwsSourceOptions {
  log: Logger;
  base: () => PoolerConfig;
  env?: NodeJS.ProcessEnv | AwsEnv;
  adapters?: AwsStoreAdaptersOptions;
  /** Decrypts destination passwords instead of this process's own KMS client (a worker asks its supervisor). */
  secrets?: SecretBox;
  now?: () => Date;
}

export function createAwsSource(opts: AwsSourceOptions): StoreSource {
  // Throws ConfigError naming a missing variable before any client is created.
  const env = isAwsEnv(opts.env) ? opts.env : readAwsEnv(opts.env ?? process.env);
  const own = createAwsStoreAdapters(env, opts.adapters);
  const adapters = { ...own, ...(opts.secrets ? { secrets: opts.secrets } : {}), topology: NO_TOPOLOGY };
  return new StoreSource({
    kind: 'aws',
    adapters,
    base: opts.base,
    log: opts.log,
    useTopology: false,
    ...(opts.now ? { now: opts.now } : {}),
    close: () => adapters.close(),
  });
}

/** The KMS SecretBox the AWS source decrypts with, for a supervisor that decrypts for its workers. */
export function createAwsSecretBox(env: NodeJS.ProcessEnv = process.env): { box: SecretBox; close: () => void } {
  const kms = new KMSClient(BOUNDED_REQUESTS);
  return { box: new KmsSecretBox(kms, readAwsEnv(env).kmsKeyId), close: () => kms.destroy() };
}

/** The table's node id leases, for a supervisor that leases its workers' ids (`cluster.node_id: auto`). */
export function createAwsNodeLeaseStore(env: NodeJS.ProcessEnv = process.env): { store: NodeLeaseStore; close: () => void } {
  const dynamodb = new DynamoDBClient(BOUNDED_REQUESTS);
  return { store: new DynamoNodeLeaseStore({ doc: documentClient(dynamodb), table: readAwsEnv(env).table }), close: () => dynamodb.destroy() };
}

/** useTopology is false for this source: StoreSource never asks (a call would be a bug, and says so). */
const NO_TOPOLOGY: Topology = {
  describe: () => Promise.reject(new Error('the AWS config source does not describe RDS: failover targets come from SSM')),
};

function isAwsEnv(e: NodeJS.ProcessEnv | AwsEnv | undefined): e is AwsEnv {
  return e !== undefined && typeof (e as AwsEnv).poolerTag === 'object';
}

/**
 * The EC2 instance id from the instance metadata service (IMDSv2: a session token, then the
 * value), or undefined off EC2 / when disabled (AWS_EC2_METADATA_DISABLED=true, as the SDK honours).
 */
export async function instanceIdFromImds(timeoutMs = 1000): Promise<string | undefined> {
  if (process.env.AWS_EC2_METADATA_DISABLED === 'true') return undefined;
  const base = 'http://169.254.169.254/latest';
  try {
    const token = await fetch(`${base}/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!token.ok) return undefined;
    const res = await fetch(`${base}/meta-data/instance-id`, {
      headers: { 'X-aws-ec2-metadata-token': await token.text() },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return undefined;
    const id = (await res.text()).trim();
    return /^i-[0-9a-f]+$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
