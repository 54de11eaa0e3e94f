// Failover stack: the EventBridge rule routes exactly the RDS events the handler understands (the
// pattern comes from the handler's own table), the minute schedule drives reconcile, and failures
// end in one encrypted dead-letter queue after retries.
import { CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RDS_EVENT_IDS, RDS_EVENTS, classifyRdsEvent, rdsEventPattern } from '../shared/src/domain/rds-events.ts';
import { FAILOVER_FUNCTIONS } from '../stacks/capabilities.ts';
import { Failover } from '../stacks/Failover.ts';
import { synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';

let synth: OfflineSynth;
let t: Template;

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig() });
  t = synth.template(Failover);
});

type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = () => t.toJSON().Resources as Record<string, Resource>;
const logicalId = (c: IConstruct): string => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
const fnId = (id: string) => logicalId(synth.stack(Failover).node.findChild(id));
const rules = () => Object.entries(resources()).filter(([, r]) => r.Type === 'AWS::Events::Rule');
const dlqId = () => Object.entries(resources()).find(([, r]) => r.Type === 'AWS::SQS::Queue')?.[0] ?? '';

interface Target {
  Arn: unknown;
  DeadLetterConfig?: { Arn: unknown };
  RetryPolicy?: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number };
}

/** EventBridge matching for the pattern shape used here: every listed field's value is one of the listed values. */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([k, p]) => (Array.isArray(p) ? p.includes(event[k]) : matches(p as Record<string, unknown>, (event[k] ?? {}) as Record<string, unknown>)));
}

describe('the RDS event rule', () => {
  const rdsRule = () => rules().find(([, r]) => r.Properties.EventPattern !== undefined)?.[1];

  it('has exactly the pattern the handler builds (one source of truth)', () => {
    expect(rules().filter(([, r]) => r.Properties.EventPattern !== undefined)).toHaveLength(1);
    expect(rdsRule()?.Properties.EventPattern).toEqual(rdsEventPattern());
    expect((rdsRule()?.Properties.EventPattern as { detail: { EventID: string[] } }).detail.EventID).toEqual([...RDS_EVENT_IDS]);
  });

  it('routes every event the handler classifies, and none it ignores', () => {
    const pattern = rdsRule()?.Properties.EventPattern as Record<string, unknown>;
    const detailType = { cluster: 'RDS DB Cluster Event', instance: 'RDS DB Instance Event', 'blue-green-deployment': 'RDS Blue Green Deployment Event' } as const;
    for (const e of RDS_EVENTS) {
      const event = { source: 'aws.rds', 'detail-type': detailType[e.source], detail: { EventID: e.id, SourceIdentifier: 'x', Message: e.message } };
      expect(matches(pattern, event), e.id).toBe(true);
    }
    // A backup event and a look-alike from another source are not routed.
    const ignored = { source: 'aws.rds', 'detail-type': 'RDS DB Instance Event', detail: { EventID: 'RDS-EVENT-0001' } };
    expect(classifyRdsEvent('RDS-EVENT-0001')).toBeUndefined();
    expect(matches(pattern, ignored)).toBe(false);
    expect(matches(pattern, { source: 'custom.app', 'detail-type': 'RDS DB Instance Event', detail: { EventID: 'RDS-EVENT-0049' } })).toBe(false);
  });

  it('invokes the rds-event function with retries and the dead-letter queue', () => {
    const targets = rdsRule()?.Properties.Targets as Target[];
    expect(targets).toHaveLength(1);
    expect(targets[0]?.Arn).toEqual({ 'Fn::GetAtt': [fnId(FAILOVER_FUNCTIONS.rdsEvent.id), 'Arn'] });
    expect(targets[0]?.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlqId(), 'Arn'] } });
    expect(targets[0]?.RetryPolicy?.MaximumRetryAttempts).toBeGreaterThan(0);
  });
});

describe('the reconcile schedule', () => {
  it('runs the reconcile function every minute, undeliverable ticks going to the dead-letter queue', () => {
    const scheduled = rules().filter(([, r]) => r.Properties.ScheduleExpression !== undefined);
    expect(scheduled).toHaveLength(1);
    const rule = scheduled[0]?.[1];
    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule?.Properties.State).toBe('ENABLED');
    const targets = rule?.Properties.Targets as Target[];
    expect(targets[0]?.Arn).toEqual({ 'Fn::GetAtt': [fnId(FAILOVER_FUNCTIONS.reconcile.id), 'Arn'] });
    expect(targets[0]?.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlqId(), 'Arn'] } });
    // A tick older than the next tick is worthless.
    expect(targets[0]?.RetryPolicy?.MaximumEventAgeInSeconds).toBe(60);
  });
});

describe('asynchronous invocation failures', () => {
  it('the rds-event function retries, then dead-letters; reconcile does not retry (the next tick does)', () => {
    const config = (id: string) =>
      Object.values(resources()).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && JSON.stringify(r.Properties.FunctionName) === JSON.stringify({ Ref: fnId(id) }))?.Properties;
    expect(config(FAILOVER_FUNCTIONS.rdsEvent.id)?.MaximumRetryAttempts).toBe(2);
    expect(config(FAILOVER_FUNCTIONS.reconcile.id)?.MaximumRetryAttempts).toBe(0);
    for (const id of [FAILOVER_FUNCTIONS.rdsEvent.id, FAILOVER_FUNCTIONS.reconcile.id]) {
      expect(resources()[fnId(id)]?.Properties.DeadLetterConfig, id).toEqual({ TargetArn: { 'Fn::GetAtt': [dlqId(), 'Arn'] } });
    }
  });

  it('the dead-letter queue is encrypted, TLS-only, keeps messages 14 days, and only our two rules may send to it', () => {
    t.resourceCountIs('AWS::SQS::Queue', 1);
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policy = Object.values(resources()).find((r) => r.Type === 'AWS::SQS::QueuePolicy')?.Properties.PolicyDocument as {
      Statement: { Effect: string; Principal: unknown; Action: string; Condition: Record<string, Record<string, unknown>> }[];
    };
    expect(policy.Statement.some((s) => s.Effect === 'Deny' && s.Condition.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
    const senders = policy.Statement.filter((s) => s.Effect === 'Allow');
    expect(senders.map((s) => s.Principal)).toEqual([{ Service: 'events.amazonaws.com' }, { Service: 'events.amazonaws.com' }]);
    expect(senders.map((s) => JSON.stringify(s.Condition.ArnEquals?.['aws:SourceArn'])).sort()).toEqual(rules().map(([id]) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })).sort());
  });
});
