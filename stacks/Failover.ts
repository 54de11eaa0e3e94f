// Failover: how a writer change reaches the fleet without anyone calling the API.
// - An EventBridge rule on the default bus routes exactly the RDS events the handler understands
//   (shared/src/domain/rds-events.ts builds the pattern; the handler classifies with the same
//   table) to functions/failover/rds-event.ts.
// - A rule fires functions/failover/reconcile.ts every minute, so a lost event only delays a change.
// - Failures land in one dead-letter queue: events EventBridge could not deliver (target retry
//   policy exhausted) and asynchronous invocations that kept failing (Lambda's own retries).
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule, type EventPattern } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { use, type Function as SstFunction, type StackContext } from 'sst/constructs';
import { rdsEventPattern } from '../shared/src/domain/rds-events.ts';
import { FAILOVER_FUNCTIONS, statementsFor, wildcardsFor } from './capabilities.ts';
import { switchyardEnvironment } from './environment.ts';
import { switchyardFunction } from './function.ts';
import { useSettings } from './settings.ts';
import { Storage } from './Storage.ts';

export interface FailoverOutputs {
  readonly rdsEvent: SstFunction;
  readonly reconcile: SstFunction;
  readonly deadLetterQueue: Queue;
  readonly rdsEventRule: Rule;
  readonly reconcileRule: Rule;
}

/** The handler's pattern in CDK's camel-cased EventPattern shape (rendered back as-is). */
export function rdsEventRulePattern(): EventPattern {
  const p = rdsEventPattern();
  return { source: p.source, detailType: p['detail-type'], detail: p.detail };
}

export function Failover({ stack, app }: StackContext): FailoverOutputs {
  const storage = use(Storage);
  const { config } = useSettings(app);
  const logRetention = config.logRetentionDays as RetentionDays;
  const environment = switchyardEnvironment(storage, app.stage);
  const ctx = { stack, stage: app.stage, storage, config };

  // SQS-managed encryption: EventBridge can write to it without a key policy of its own.
  const deadLetterQueue = new Queue(stack, 'FailoverDeadLetters', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });

  const rdsEvent = switchyardFunction(stack, FAILOVER_FUNCTIONS.rdsEvent.id, {
    handler: FAILOVER_FUNCTIONS.rdsEvent.handler,
    description: 'RDS failover / restart / blue-green event: re-read topology, publish writer change',
    statements: statementsFor(FAILOVER_FUNCTIONS.rdsEvent.capabilities, ctx),
    wildcards: wildcardsFor(FAILOVER_FUNCTIONS.rdsEvent.capabilities),
    environment,
    logRetention,
    removalPolicy: storage.removalPolicy,
    timeoutSeconds: 30,
    // The handler is idempotent (epochs only grow, stale events are ignored), so retrying is safe.
    extra: { retryAttempts: 2, maxEventAge: Duration.hours(1), deadLetterQueue },
  });
  const rdsEventRule = new Rule(stack, 'RdsEventsRule', {
    description: `Switchyard ${app.stage}: RDS events that can move a writer`,
    eventPattern: rdsEventRulePattern(),
    targets: [new LambdaFunction(rdsEvent, { retryAttempts: 10, maxEventAge: Duration.hours(2), deadLetterQueue })],
  });

  const reconcile = switchyardFunction(stack, FAILOVER_FUNCTIONS.reconcile.id, {
    handler: FAILOVER_FUNCTIONS.reconcile.handler,
    description: 'Every minute: compare topology with published targets, re-push stale poolers, report StalePoolers',
    statements: statementsFor(FAILOVER_FUNCTIONS.reconcile.capabilities, ctx),
    wildcards: wildcardsFor(FAILOVER_FUNCTIONS.reconcile.capabilities),
    environment,
    logRetention,
    removalPolicy: storage.removalPolicy,
    timeoutSeconds: 50,
    // A failed tick is retried by the next tick a minute later; retrying it as well would only
    // run two reconciles side by side.
    extra: { retryAttempts: 0, maxEventAge: Duration.minutes(1), deadLetterQueue },
  });
  const reconcileRule = new Rule(stack, 'ReconcileSchedule', {
    description: `Switchyard ${app.stage}: reconcile topology and fleet every minute`,
    schedule: Schedule.rate(Duration.minutes(1)),
    targets: [new LambdaFunction(reconcile, { retryAttempts: 2, maxEventAge: Duration.minutes(1), deadLetterQueue })],
  });

  stack.addOutputs({ FailoverDeadLetterQueueUrl: deadLetterQueue.queueUrl });
  return { rdsEvent, reconcile, deadLetterQueue, rdsEventRule, reconcileRule };
}
