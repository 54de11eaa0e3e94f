// The events and Lambda context that AWS hands our handlers, built in-process: the local stack
// (local/) runs the very same handlers without Lambda or EventBridge, and the tests drive them the
// same way (functions/testing/test-events.ts adds the API Gateway event). The shapes follow the
// AWS docs: Lambda Developer Guide, "Using the Lambda context object to retrieve Node.js function
// information"; EventBridge User Guide, "Amazon RDS events" and "Schedule expressions".
import { randomUUID } from 'node:crypto';
import type { Context, EventBridgeEvent, ScheduledEvent } from 'aws-lambda';

const ACCOUNT = '123456789012';

/** A Lambda context for an in-process call of `functionName`'s handler. */
export function lambdaContext(functionName: string, overrides: Partial<Context> = {}): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...overrides,
  };
}

export interface RdsEventInit {
  eventId: string;
  /** DB cluster / instance identifier (or blue/green deployment id). */
  sourceId: string;
  sourceType?: RdsSourceType;
  /** ISO time of the event (detail.Date). */
  date: string;
  message?: string;
  region?: string;
}

export type RdsSourceType = 'CLUSTER' | 'DB_INSTANCE' | 'BLUE_GREEN_DEPLOYMENT';

const DETAIL_TYPE = { CLUSTER: 'RDS DB Cluster Event', DB_INSTANCE: 'RDS DB Instance Event', BLUE_GREEN_DEPLOYMENT: 'RDS Blue Green Deployment Event' } as const;
const ARN_KIND = { CLUSTER: 'cluster', DB_INSTANCE: 'db', BLUE_GREEN_DEPLOYMENT: 'deployment' } as const;

export type RdsDetailType = (typeof DETAIL_TYPE)[RdsSourceType];

/** The `detail` of an RDS event (a type, not an interface: it is also a plain Record of JSON). */
export type RdsEventDetail = {
  EventCategories: string[];
  SourceType: RdsSourceType;
  SourceArn: string;
  Date: string;
  Message: string;
  SourceIdentifier: string;
  EventID: string;
};

/** An RDS event as EventBridge delivers it (EventBridge User Guide, "Amazon RDS events"). */
export function rdsEvent(init: RdsEventInit): EventBridgeEvent<RdsDetailType, RdsEventDetail> & { source: 'aws.rds' } {
  const type = init.sourceType ?? 'CLUSTER';
  const region = init.region ?? 'us-east-1';
  const arn = `arn:aws:rds:${region}:${ACCOUNT}:${ARN_KIND[type]}:${init.sourceId}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': DETAIL_TYPE[type],
    source: 'aws.rds',
    account: ACCOUNT,
    // The envelope has second precision; detail.Date has milliseconds.
    time: new Date(Math.floor(Date.parse(init.date) / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    region,
    resources: [arn],
    detail: {
      EventCategories: ['failover'],
      SourceType: type,
      SourceArn: arn,
      Date: init.date,
      Message: init.message ?? 'event',
      SourceIdentifier: init.sourceId,
      EventID: init.eventId,
    },
  };
}

/** The event an EventBridge schedule rule sends (EventBridge User Guide, "Schedule expressions"). */
export function scheduledEvent(ruleArn: string, at: Date = new Date()): ScheduledEvent<Record<string, never>> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [ruleArn],
    detail: {},
  };
}
