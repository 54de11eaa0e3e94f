// cdk-nag's AwsSolutions rules run on every synth (and the tests fail on any unsuppressed finding).
// A suppression here names the one finding it covers (IAM5 findings are granular: each wildcard
// resource gets its own entry and reason) and says why the rule does not apply.
import { Annotations, Aspects, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks, NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import type { App } from 'sst/constructs';

export function applyAwsSolutionsChecks(app: App): void {
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true, reports: false }));
}

/** A wildcard resource that is the narrowest expression of what a statement needs. */
export interface Wildcard {
  readonly appliesTo: string | { regex: string };
  readonly reason: string;
}

// Regexes match cdk-nag's rendering of resources: `<AWS::Partition>` for the partition token and
// the literal region/account of the stack.
export const WILDCARDS = {
  xray: {
    appliesTo: 'Resource::*',
    reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (Service Authorization Reference, AWS X-Ray); CDK adds them for active tracing.',
  },
  xrayAndVpc: {
    appliesTo: 'Resource::*',
    reason: 'Two statements need "*": X-Ray PutTraceSegments/PutTelemetryRecords (no resource-level permissions), and the ENI actions Lambda performs to attach the function to the VPC (the AWSLambdaVPCAccessExecutionRole set; ec2:Describe* and the ENI lifecycle act on interfaces Lambda creates and names).',
  },
  ssmAgent: {
    appliesTo: 'Resource::*',
    reason: 'The SSM agent actions (ssm:UpdateInstanceInformation, ssmmessages:*Channel, ec2messages:*) support no resource-level permissions; the list is the minimal subset of AmazonSSMManagedInstanceCore for Run Command.',
  },
  parameterPath: {
    appliesTo: { regex: '/^Resource::arn:<AWS::Partition>:ssm:[a-z0-9-]+:\\d{12}:parameter\\/switchyard\\/[A-Za-z0-9-]+\\/\\*$/' },
    reason: 'Scoped to this stage\'s parameter path /switchyard/<stage>/*: cluster targets are one parameter per cluster, created as clusters are added, so their names are not known at deploy time.',
  },
  clusterTargetParameters: {
    appliesTo: { regex: '/^Resource::arn:<AWS::Partition>:ssm:[a-z0-9-]+:\\d{12}:parameter\\/switchyard\\/[A-Za-z0-9-]+\\/clusters\\/\\*$/' },
    reason: 'ssm:DeleteParameter on this stage\'s cluster target parameters /switchyard/<stage>/clusters/*: one per cluster, named after clusters registered at run time; the config version and other parameters are not included.',
  },
  poolerInstances: {
    appliesTo: { regex: '/^Resource::arn:<AWS::Partition>:ec2:[a-z0-9-]+:\\d{12}:instance\\/\\*$/' },
    reason: 'SendCommand targets Auto Scaling instances whose ids change; the statement is conditioned on ssm:resourceTag/switchyard:role=pooler and switchyard:stage=<stage>, so only this stage\'s poolers qualify.',
  },
  rdsInstances: {
    appliesTo: { regex: '/^Resource::arn:<AWS::Partition>:rds:[a-z0-9-]+:\\d{12}:db:\\*$/' },
    reason: 'rds:DescribeDBInstances (read-only) must see the members of the configured Aurora clusters, which come and go with scaling and failover; the clusters themselves are named one by one.',
  },
  rdsManagedSecrets: {
    appliesTo: { regex: '/^Resource::arn:<AWS::Partition>:secretsmanager:[a-z0-9-]+:\\d{12}:secret:rds!\\*$/' },
    reason: 'secretsmanager:GetSecretValue (read-only) on the secrets RDS creates for managed master passwords: RDS names them rds!cluster-<uuid> / rds!db-<uuid> when a cluster is created, so only the rds! prefix RDS reserves can be named at deploy time; no other secret of the account is readable.',
  },
  executeApiPathParameters: {
    appliesTo: { regex: '/^Resource::arn:<AWS::Partition>:execute-api:[a-z0-9-]+:\\d{12}:<Api[A-Za-z0-9]+>\\/\\$default\\/[A-Z]+\\/.*\\*.*$/' },
    reason: 'The * stands for the {id} path parameter of one route (execute-api ARNs match path parameters with *); method and path are otherwise exact.',
  },
} as const satisfies Record<string, Wildcard>;

export function suppressWildcards(construct: IConstruct, wildcards: readonly Wildcard[]): void {
  if (wildcards.length === 0) return;
  NagSuppressions.addResourceSuppressions(
    construct,
    wildcards.map((w): NagPackSuppression => ({ id: 'AwsSolutions-IAM5', reason: w.reason, appliesTo: [w.appliesTo] })),
    true,
  );
}

export const NODE_RUNTIME_REASON =
  'Node.js 22 on purpose: it is the project\'s runtime (package.json engines, the pinned toolchain) and the pooler fleet\'s, so shared/ code is tested on the version it runs on. Moving to 24 is one change for all of them.';

export function suppress(construct: IConstruct, suppressions: NagPackSuppression[]): void {
  NagSuppressions.addResourceSuppressions(construct, suppressions, true);
}

/**
 * Every SST stack creates a "CustomResourceHandler" function (SST's own custom resources, e.g.
 * the sourcemap uploader that feeds the SST Console). It is SST's code with SST's role.
 */
export function suppressSstInternals(app: App): void {
  for (const stack of app.node.children) {
    if (!(stack instanceof Stack)) continue;
    const handler = stack.node.tryFindChild('CustomResourceHandler');
    if (!handler) continue;
    suppress(handler, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'SST\'s own custom-resource handler (created by every sst/constructs Stack); its role uses AWSLambdaBasicExecutionRole for its logs and is not ours to change.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      { id: 'AwsSolutions-L1', reason: 'SST\'s own custom-resource handler; SST 2.49 pins its runtime (nodejs22.x) and ships the code.' },
    ]);
  }
}

/** CDK warnings that state a known limitation we rely on not touching, acknowledged with a reason. */
export function acknowledgeWarning(construct: IConstruct, id: string, reason: string): void {
  Annotations.of(construct).acknowledgeWarning(id, reason);
}
