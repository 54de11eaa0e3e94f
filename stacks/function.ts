// One Lambda function the Switchyard way: its own log group with a retention, its own role that
// may write only to that log group (no AWSLambdaBasicExecutionRole, whose logs:* reach every log
// group in the account), X-Ray tracing, and exactly the statements the caller passes.
import type { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Function as SstFunction, type FunctionProps } from 'sst/constructs';
import { NODE_RUNTIME_REASON, WILDCARDS, suppress, suppressWildcards, type Wildcard } from './nag.ts';
import type { StageNetwork } from './network.ts';
import { vpcNetworkInterfaces } from './permissions.ts';

export interface SwitchyardFunctionProps {
  /** `path/to/file.handler`, relative to the project root. */
  readonly handler: string;
  readonly description: string;
  readonly statements: readonly PolicyStatement[];
  /** Wildcard resources among the statements, each with its reason (cdk-nag IAM5). */
  readonly wildcards: readonly Wildcard[];
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly timeoutSeconds?: number;
  readonly memorySize?: number;
  /** Run in the stage's subnets with this security group (to reach the databases). */
  readonly network?: StageNetwork & { readonly securityGroup: ISecurityGroup };
  /** Extra CDK function options (retries, dead-letter queue, ...). */
  readonly extra?: Pick<FunctionProps, 'retryAttempts' | 'maxEventAge' | 'deadLetterQueue' | 'deadLetterQueueEnabled' | 'reservedConcurrentExecutions'>;
}

/** Node 22 is the project's runtime (package.json engines, the pooler fleet); Lambda follows it. */
export const FUNCTION_RUNTIME = 'nodejs22.x';

export function switchyardFunction(stack: Stack, id: string, props: SwitchyardFunctionProps): SstFunction {
  const logGroup = new LogGroup(stack, `${id}Logs`, { retention: props.logRetention, removalPolicy: props.removalPolicy });
  const role = new Role(stack, `${id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Switchyard ${id}: ${props.description}`.slice(0, 1000),
    inlinePolicies: {
      Logs: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: 'OwnLogGroup',
            effect: Effect.ALLOW,
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            // logGroupArn already ends in ":*", which covers the group's streams.
            resources: [logGroup.logGroupArn],
          }),
        ],
      }),
    },
  });
  const fn = new SstFunction(stack, id, {
    handler: props.handler,
    description: props.description,
    runtime: FUNCTION_RUNTIME,
    architecture: 'arm_64',
    memorySize: props.memorySize ?? 512,
    timeout: props.timeoutSeconds ?? 10,
    tracing: 'active',
    role,
    logGroup,
    environment: props.environment,
    permissions: [...props.statements, ...(props.network ? [vpcNetworkInterfaces()] : [])],
    ...(props.network ? { vpc: props.network.vpc, vpcSubnets: props.network.subnets, securityGroups: [props.network.securityGroup] } : {}),
    // SST keeps the source map out of the bundle and uploads it for the SST Console's traces.
    nodejs: { format: 'esm' },
    ...props.extra,
  });
  // xray's and the VPC statement's "*" render as the same finding; one reason names both.
  suppressWildcards(role, [props.network ? WILDCARDS.xrayAndVpc : WILDCARDS.xray, ...props.wildcards]);
  suppress(fn, [{ id: 'AwsSolutions-L1', reason: NODE_RUNTIME_REASON }]);
  return fn;
}
