// Monitoring: the alarms that say Switchyard is not doing its job, all sent to one SNS topic.
// - A failover handler failed (an RDS event may not have reached the fleet).
// - Dead letters are waiting (an event or a tick was dropped after every retry).
// - A pooler has not applied the latest config version (a push or a poll is not landing).
// - The NLB sees an unhealthy pooler, or none healthy at all.
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { use, type StackContext } from 'sst/constructs';
import { STALE_POOLERS_METRIC } from './contract.ts';
import { Failover } from './Failover.ts';
import { PoolerFleet } from './PoolerFleet.ts';
import { useSettings } from './settings.ts';
import { Storage } from './Storage.ts';

export interface MonitoringOutputs {
  readonly topic: Topic;
  readonly alarms: {
    readonly rdsEventErrors: Alarm;
    readonly reconcileErrors: Alarm;
    readonly deadLetters: Alarm;
    readonly stalePoolers: Alarm;
    readonly unhealthyPoolers: Alarm;
    readonly noHealthyPoolers: Alarm;
  };
}

export function Monitoring({ stack, app }: StackContext): MonitoringOutputs {
  const storage = use(Storage);
  const failover = use(Failover);
  const fleet = use(PoolerFleet);
  const { config } = useSettings(app);

  // CloudWatch publishes to an encrypted topic only with a customer-managed key whose policy lets
  // it (SNS developer guide, "Enable compatibility between event sources and encrypted topics").
  // A key of its own keeps the credentials key's policy free of service principals.
  const topicKey = new Key(stack, 'AlarmTopicKey', {
    description: `Switchyard ${app.stage}: alarm notifications`,
    enableKeyRotation: true,
    removalPolicy: storage.removalPolicy,
    pendingWindow: Duration.days(7),
  });
  topicKey.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      effect: Effect.ALLOW,
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'], // in a key policy, "*" means this key
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  );
  const topic = new Topic(stack, 'Alarms', { displayName: `Switchyard ${app.stage} alarms`, masterKey: topicKey, enforceSSL: true });
  if (config.alarms.email) topic.addSubscription(new EmailSubscription(config.alarms.email));
  const action: IAlarmAction = new SnsAction(topic);

  const alarm = (id: string, props: ConstructorParameters<typeof Alarm>[2]): Alarm => {
    const a = new Alarm(stack, id, { ...props, alarmName: `switchyard-${app.stage}-${id}` });
    a.addAlarmAction(action);
    a.addOkAction(action);
    return a;
  };

  const rdsEventErrors = alarm('RdsEventHandlerErrors', {
    alarmDescription: 'The RDS event handler failed: a writer change may not have been published (Lambda retries, then the DLQ).',
    metric: failover.rdsEvent.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  // One failed tick is healed by the next; three in five minutes is a broken reconcile.
  const reconcileErrors = alarm('ReconcileErrors', {
    alarmDescription: 'The minute reconcile keeps failing: lost events and stale poolers are no longer repaired.',
    metric: failover.reconcile.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  const deadLetters = alarm('FailoverDeadLetters', {
    alarmDescription: 'Failover events or ticks were dropped after every retry; inspect and redrive the DLQ.',
    metric: failover.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  // Published by the reconcile every minute. Five minutes covers a push that failed plus the
  // poolers' jittered poll. Missing data means the reconcile is not reporting, which is itself a
  // failure to watch the fleet.
  const stalePoolers = alarm('StalePoolers', {
    alarmDescription: 'A pooler has not applied the latest config version for 5 minutes (push and poll both failing for it).',
    metric: new Metric({
      namespace: STALE_POOLERS_METRIC.namespace,
      metricName: STALE_POOLERS_METRIC.name,
      dimensionsMap: { [STALE_POOLERS_METRIC.dimension]: app.stage },
      period: Duration.minutes(1),
      statistic: 'Maximum',
    }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 5,
    datapointsToAlarm: 5,
    treatMissingData: TreatMissingData.BREACHING,
  });
  const unhealthyPoolers = alarm('UnhealthyPoolers', {
    alarmDescription: 'The NLB reports a pooler failing /readyz for 3 minutes (a drain that never ends, or a broken instance).',
    metric: fleet.targetGroup.metrics.unHealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 3,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  const noHealthyPoolers = alarm('NoHealthyPoolers', {
    alarmDescription: 'No pooler is healthy behind the NLB: clients cannot connect.',
    metric: fleet.targetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: 'Minimum' }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
    treatMissingData: TreatMissingData.BREACHING,
  });

  stack.addOutputs({ AlarmTopicArn: topic.topicArn });
  return { topic, alarms: { rdsEventErrors, reconcileErrors, deadLetters, stalePoolers, unhealthyPoolers, noHealthyPoolers } };
}
