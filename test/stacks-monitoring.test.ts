// Monitoring stack: an alarm for each way Switchyard can silently stop doing its job, all
// notifying one encrypted SNS topic.
import { CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAILOVER_FUNCTIONS } from '../stacks/capabilities.ts';
import { Failover } from '../stacks/Failover.ts';
import { Monitoring } from '../stacks/Monitoring.ts';
import { synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';
import { PoolerFleet } from '../stacks/PoolerFleet.ts';

let synth: OfflineSynth;
let t: Template;

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig({ alarms: { email: 'oncall@example.com' } }) });
  t = synth.template(Monitoring);
});

interface AlarmProps {
  AlarmName: string;
  Namespace: string;
  MetricName: string;
  Dimensions: { Name: string; Value: unknown }[];
  Statistic: string;
  Period: number;
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData: string;
  AlarmActions: unknown[];
  OKActions: unknown[];
}
const alarms = () =>
  Object.values(t.toJSON().Resources as Record<string, { Type: string; Properties: AlarmProps }>)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map((r) => r.Properties);
const alarm = (suffix: string): AlarmProps => {
  const a = alarms().find((x) => x.AlarmName === `switchyard-test-${suffix}`);
  if (!a) throw new Error(`no alarm ${suffix}`);
  return a;
};
const logicalId = (c: IConstruct): string => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
/** A reference to an export of another stack, e.g. the failover function's name. */
const importOf = (producer: string, c: IConstruct) => expect.stringMatching(new RegExp(`^\\{"Fn::ImportValue":"test-switchyard-${producer}:ExportsOutput(Ref|FnGetAtt)${logicalId(c)}`));

it('has exactly the six alarms, each notifying the alarm topic on alarm and on recovery', () => {
  expect(alarms().map((a) => a.AlarmName).sort()).toEqual(
    ['FailoverDeadLetters', 'NoHealthyPoolers', 'ReconcileErrors', 'RdsEventHandlerErrors', 'StalePoolers', 'UnhealthyPoolers'].map((n) => `switchyard-test-${n}`).sort(),
  );
  const topic = Object.entries(t.toJSON().Resources as Record<string, { Type: string }>).find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0];
  for (const a of alarms()) {
    expect(a.AlarmActions, a.AlarmName).toEqual([{ Ref: topic }]);
    expect(a.OKActions, a.AlarmName).toEqual([{ Ref: topic }]);
  }
});

describe('failover handler errors', () => {
  it('alarm on the first error of the RDS event handler', () => {
    const a = alarm('RdsEventHandlerErrors');
    expect(a).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Period: 60, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 });
    expect(JSON.stringify(a.Dimensions.find((d) => d.Name === 'FunctionName')?.Value)).toEqual(importOf('Failover', synth.stack(Failover).node.findChild(FAILOVER_FUNCTIONS.rdsEvent.id)));
  });

  it('alarm when reconcile fails in 3 of 5 minutes (one failed tick heals itself)', () => {
    const a = alarm('ReconcileErrors');
    expect(a).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1, EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    expect(JSON.stringify(a.Dimensions.find((d) => d.Name === 'FunctionName')?.Value)).toEqual(importOf('Failover', synth.stack(Failover).node.findChild(FAILOVER_FUNCTIONS.reconcile.id)));
  });
});

it('DLQ depth: any visible message in the failover dead-letter queue', () => {
  const a = alarm('FailoverDeadLetters');
  expect(a).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  expect(JSON.stringify(a.Dimensions.find((d) => d.Name === 'QueueName')?.Value)).toEqual(importOf('Failover', synth.stack(Failover).node.findChild('FailoverDeadLetters')));
});

it('stale pooler heartbeats: a pooler behind the latest config version for 5 minutes, missing data counting as bad', () => {
  const a = alarm('StalePoolers');
  expect(a).toMatchObject({
    Namespace: 'Switchyard',
    MetricName: 'StalePoolers',
    Dimensions: [{ Name: 'Stage', Value: 'test' }],
    Statistic: 'Maximum',
    Threshold: 1,
    EvaluationPeriods: 5,
    DatapointsToAlarm: 5,
    TreatMissingData: 'breaching',
  });
});

describe('NLB health', () => {
  const dims = (a: AlarmProps) => Object.fromEntries(a.Dimensions.map((d) => [d.Name, JSON.stringify(d.Value)]));
  it('an unhealthy pooler behind the NLB for 3 minutes', () => {
    const a = alarm('UnhealthyPoolers');
    expect(a).toMatchObject({ Namespace: 'AWS/NetworkELB', MetricName: 'UnHealthyHostCount', Statistic: 'Maximum', Threshold: 1, EvaluationPeriods: 3 });
    const fleet = synth.stack(PoolerFleet);
    expect(dims(a)).toEqual({
      // CDK derives the NLB's "net/<name>/<id>" from the listener ARN attached to the target group.
      LoadBalancer: expect.stringContaining(`"Fn::ImportValue":"test-switchyard-PoolerFleet:ExportsOutputRef${logicalId(fleet.node.findChild('PoolerLoadBalancer').node.findChild('Postgres'))}`),
      TargetGroup: importOf('PoolerFleet', fleet.node.findChild('PoolerTargets')),
    });
  });

  it('no healthy pooler at all (clients cannot connect)', () => {
    const a = alarm('NoHealthyPoolers');
    expect(a).toMatchObject({ Namespace: 'AWS/NetworkELB', MetricName: 'HealthyHostCount', Statistic: 'Minimum', Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a rotating key of its own that CloudWatch may use, requires TLS, and mails the on-call address', () => {
    const r = t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const [keyId, key] = Object.entries(r).find(([, x]) => x.Type === 'AWS::KMS::Key') ?? [];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const statements = (key?.Properties.KeyPolicy as { Statement: { Principal: unknown; Action: string[]; Condition?: unknown }[] }).Statement;
    const cw = statements.find((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }));
    expect(cw?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(cw?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
    const policy = Object.values(r).find((x) => x.Type === 'AWS::SNS::TopicPolicy')?.Properties.PolicyDocument;
    expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });
});
