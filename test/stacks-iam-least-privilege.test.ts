// IAM across the whole app: no wildcard actions anywhere, "*" resources only for the few actions
// AWS offers no resource-level permissions for, and the failover functions hold exactly what the
// failover path needs.
import { CfnElement, Stack } from 'aws-cdk-lib';
import type { Function as SstFunction } from 'sst/constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACKS } from '../stacks/app.ts';
import { FAILOVER_FUNCTIONS } from '../stacks/capabilities.ts';
import { Failover } from '../stacks/Failover.ts';
import { actionsOf, identityStatements, resourcesOf, roleStatements, synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';

let synth: OfflineSynth;

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig({ production: true }) });
});

// Actions with no resource-level permissions (Service Authorization Reference: the resource-types
// column is empty for them), which therefore may only be granted on "*".
const NO_RESOURCE_LEVEL = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
  'ssm:UpdateInstanceInformation',
  'ssm:ListInstanceAssociations',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
]);

describe.each(STACKS.map((fn) => [fn.name, fn] as const))('%s', (_name, fn) => {
  it('allows no wildcard action and no "*" resource except for actions without resource-level permissions', () => {
    for (const { where, statement } of identityStatements(synth.template(fn))) {
      expect(statement.Effect, where).toBe('Allow');
      for (const a of actionsOf(statement)) expect(a, where).not.toContain('*');
      if (resourcesOf(statement).includes('*')) {
        for (const a of actionsOf(statement)) expect(NO_RESOURCE_LEVEL.has(a), `${where}: ${a} on "*"`).toBe(true);
      }
    }
  });
});

describe('the failover functions', () => {
  const actions = (id: string) => {
    const fn = synth.stack(Failover).node.findChild(id) as SstFunction;
    const role = fn.role?.node.defaultChild as CfnElement;
    return new Set(roleStatements(synth.template(Failover), Stack.of(role).getLogicalId(role)).flatMap(actionsOf));
  };
  const EXPECTED = [
    'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem',
    'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:PutParameter', 'ssm:SendCommand',
    'rds:DescribeDBInstances', 'rds:DescribeDBClusters',
    // Lambda's own dead-letter queue for failed asynchronous invocations.
    'sqs:SendMessage',
    'logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords',
  ].sort();

  it.each([FAILOVER_FUNCTIONS.rdsEvent.id, FAILOVER_FUNCTIONS.reconcile.id])('%s re-reads topology and publishes: table, parameters, reload, RDS describe, its DLQ', (id) => {
    expect([...actions(id)].sort()).toEqual(EXPECTED);
  });

  it('never touches the credentials key (a failover moves targets, not secrets)', () => {
    for (const id of [FAILOVER_FUNCTIONS.rdsEvent.id, FAILOVER_FUNCTIONS.reconcile.id]) expect([...actions(id)].some((a) => a.startsWith('kms:'))).toBe(false);
  });
});
