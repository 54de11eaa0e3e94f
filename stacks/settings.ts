// Per-stage deployment settings: the network the fleet lives in, who may connect, the database
// clusters Switchyard fronts, and the fleet's size. They come from `deploy/stages/<stage>.json`
// (or the file named by SWITCHYARD_STAGE_CONFIG) and are validated here, so a typo fails the
// synth with a message instead of producing a broken fleet. docs/deploy.md documents each field.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { App } from 'sst/constructs';
import { z } from 'zod';

const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)');
const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-...)');
const securityGroupId = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id (sg-...)');
const ipv4Cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 CIDR (10.0.0.0/16)');
const rdsIdentifier = z.string().regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'must be an RDS identifier');

export const clusterConfigSchema = z
  .object({
    /** Switchyard's clusterId (the same slug used in the control API). */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/),
    kind: z.enum(['aurora', 'rds-instance', 'static']),
    /**
     * The RDS DBClusterIdentifier (aurora) or DBInstanceIdentifier (rds-instance). The failover
     * functions may describe exactly these; absent for `static`.
     */
    rdsIdentifier: rdsIdentifier.optional(),
    /** Region of the RDS resource when it is not the stage's region. */
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/).optional(),
    /** The database's security group: the stack adds an ingress rule from the poolers to it. */
    securityGroupId: securityGroupId.optional(),
    /** CIDR of a database outside any security group we can edit (static targets). */
    cidr: ipv4Cidr.optional(),
    port: z.number().int().min(1).max(65535).default(5432),
    /**
     * The customer managed KMS key that encrypts the cluster's admin secret in Secrets Manager, when
     * it is not the default `aws/secretsmanager` key (RDS: MasterUserSecretKmsKeyId). The
     * provisioning functions get kms:Decrypt on it, only through Secrets Manager.
     */
    adminSecretKmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/mrk-[0-9a-f]{32}$/, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>)')
      .optional(),
  })
  .strict()
  .refine((c) => c.kind === 'static' || c.rdsIdentifier !== undefined, {
    message: 'aurora and rds-instance clusters need rdsIdentifier',
  })
  .refine((c) => c.securityGroupId !== undefined || c.cidr !== undefined, {
    message: 'give securityGroupId or cidr so the poolers may reach the database',
  });

export const stageConfigSchema = z
  .object({
    /** Production stages retain data on delete and turn on deletion protection. */
    production: z.boolean().default(false),
    /** An existing VPC (Switchyard sits next to the databases, it does not create a network). */
    vpc: z
      .object({
        id: vpcId,
        /** Private subnets, one per Availability Zone, at least two for a multi-AZ fleet. */
        subnets: z
          .array(z.object({ id: subnetId, availabilityZone: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/) }).strict())
          .min(2, 'give at least two subnets in different Availability Zones'),
      })
      .strict()
      .refine((v) => new Set(v.subnets.map((s) => s.availabilityZone)).size === v.subnets.length, {
        message: 'subnets must be in distinct Availability Zones',
      }),
    /** Who may open PostgreSQL connections to the load balancer. */
    clients: z
      .object({
        cidrs: z.array(ipv4Cidr).default([]),
        securityGroupIds: z.array(securityGroupId).default([]),
      })
      .strict()
      .refine((c) => c.cidrs.length + c.securityGroupIds.length > 0, { message: 'name at least one client CIDR or security group' }),
    clusters: z.array(clusterConfigSchema).min(1),
    pooler: z
      .object({
        /** Graviton by default: the pooler is plain JavaScript and Node 22 ships for arm64. */
        instanceType: z.string().regex(/^[a-z0-9-]+\.[a-z0-9]+$/).default('t4g.medium'),
        minCapacity: z.number().int().min(1).default(2),
        maxCapacity: z.number().int().min(1).default(6),
        /** Client port on the load balancer and the instances. */
        port: z.number().int().min(1).max(65535).default(5432),
        /** Seconds a stopping pooler waits for transactions (pooler `limits.shutdown_timeout`). */
        shutdownTimeoutSeconds: z.number().int().min(0).max(3600).default(30),
      })
      .strict()
      .default({ instanceType: 't4g.medium', minCapacity: 2, maxCapacity: 6, port: 5432, shutdownTimeoutSeconds: 30 })
      // A rolling replacement keeps minCapacity in service and launches the new instance first.
      .refine((p) => p.maxCapacity > p.minCapacity, { message: 'maxCapacity must exceed minCapacity (room for a rolling replacement)' })
      .refine((p) => p.port !== 9127, { message: 'port 9127 is the pooler health port' })
      .refine((p) => p.port !== 9128, { message: 'port 9128 is the poolers’ cancel peer port' }),
    /**
     * TLS from the control plane to the databases when it provisions roles and reads metrics
     * (functions/lib/pg-target.ts). verify-full checks RDS certificates against the RDS CA bundle.
     */
    targetSslMode: z.enum(['disable', 'require', 'verify-full']).default('verify-full'),
    /** Days CloudWatch keeps function and pooler logs. */
    logRetentionDays: z
      .union([z.literal(1), z.literal(3), z.literal(5), z.literal(7), z.literal(14), z.literal(30), z.literal(60), z.literal(90), z.literal(180), z.literal(365)])
      .default(30),
    alarms: z
      .object({
        /** Subscribed to the alarm topic (confirm the e-mail AWS sends). */
        email: z.email().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type StageConfig = z.infer<typeof stageConfigSchema>;
export type StageConfigInput = z.input<typeof stageConfigSchema>;
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

export class StageConfigError extends Error {
  readonly code = 'STAGE_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

export function parseStageConfig(input: unknown, source: string): StageConfig {
  const result = stageConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new StageConfigError(`Invalid stage config ${source}:\n${issues}`);
  }
  return result.data;
}

/** The stage config file: $SWITCHYARD_STAGE_CONFIG, else deploy/stages/<stage>.json under root. */
export function stageConfigPath(root: string, stage: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.SWITCHYARD_STAGE_CONFIG;
  return fromEnv ? resolve(root, fromEnv) : join(root, 'deploy', 'stages', `${stage}.json`);
}

export function loadStageConfig(root: string, stage: string, env: NodeJS.ProcessEnv = process.env): StageConfig {
  const file = stageConfigPath(root, stage, env);
  if (!existsSync(file)) {
    throw new StageConfigError(
      `No stage config for stage "${stage}": expected ${file}. Copy deploy/stages/example.json, fill in your VPC, ` +
        'subnets and clusters (docs/deploy.md, "The stage config"), or point SWITCHYARD_STAGE_CONFIG at a file.',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StageConfigError(`Stage config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseStageConfig(raw, file);
}

/** Everything the stacks need besides the SST app itself. */
export interface SwitchyardSettings {
  readonly config: StageConfig;
  /** Directory holding the built pooler bundle (deploy/build-bundle.ts output). */
  readonly poolerBundleDir: string;
}

// SST functional stacks only receive `{ app, stack }`; the settings ride along keyed by the app,
// so tests can synthesize several apps with different settings in one process.
const settingsByApp = new WeakMap<App, SwitchyardSettings>();

export function provideSettings(app: App, settings: SwitchyardSettings): void {
  settingsByApp.set(app, settings);
}

export function useSettings(app: App): SwitchyardSettings {
  const settings = settingsByApp.get(app);
  if (!settings) throw new Error('Switchyard settings were not provided for this app: call provideSettings(app, ...) before app.stack(...)');
  return settings;
}
