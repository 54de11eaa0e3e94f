// The environment the AWS adapters read (set by the SST stacks on every function):
//   SWITCHYARD_TABLE        DynamoDB table name (pk/sk, GSI `byCluster` on gsi1pk/gsi1sk)
//   SWITCHYARD_KMS_KEY_ID   KMS key id/ARN/alias for destination passwords
//   SWITCHYARD_STAGE        stage name; part of every SSM parameter path
//   SWITCHYARD_POOLER_TAG   `key=value` tag that marks pooler instances (default switchyard:role=pooler);
//                           split at the FIRST '=' (tag keys with '=' are not supported)
// AWS_REGION and AWS_ENDPOINT_URL are read by the SDK itself.

import { ConfigError } from '../config-error.ts';

export interface PoolerTag {
  key: string;
  value: string;
}

export interface AwsEnv {
  table: string;
  kmsKeyId: string;
  stage: string;
  poolerTag: PoolerTag;
}

export const DEFAULT_POOLER_TAG = 'switchyard:role=pooler';

export function parsePoolerTag(s: string): PoolerTag {
  const i = s.indexOf('=');
  if (i <= 0 || i === s.length - 1) throw new ConfigError(`SWITCHYARD_POOLER_TAG must be "key=value", got ${JSON.stringify(s)}`);
  return { key: s.slice(0, i), value: s.slice(i + 1) };
}

export function readAwsEnv(env: NodeJS.ProcessEnv = process.env): AwsEnv {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new ConfigError(`${name} is not set`);
    return v;
  };
  const stage = need('SWITCHYARD_STAGE');
  if (!/^[A-Za-z0-9_.-]+$/.test(stage)) throw new ConfigError('SWITCHYARD_STAGE may only contain letters, digits, "_", "." and "-"');
  return {
    table: need('SWITCHYARD_TABLE'),
    kmsKeyId: need('SWITCHYARD_KMS_KEY_ID'),
    stage,
    poolerTag: parsePoolerTag(env.SWITCHYARD_POOLER_TAG || DEFAULT_POOLER_TAG),
  };
}

/** SSM parameter holding a cluster's published targets (JSON ClusterTargets). */
export function clusterTargetsParameter(stage: string, clusterId: string): string {
  return `/switchyard/${stage}/clusters/${clusterId}`;
}

/** SSM parameter holding the fleet's config version (a decimal number as a string). */
export function configVersionParameter(stage: string): string {
  return `/switchyard/${stage}/config-version`;
}
