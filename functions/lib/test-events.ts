// Builds API Gateway HTTP API (payload format 2.0) events and a Lambda context for tests and for
// the local control-plane server, so handlers see exactly the shape API Gateway sends
// (API Gateway Developer Guide, "Working with AWS Lambda proxy integrations for HTTP APIs").
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

export interface ApiEventInit {
  method: string;
  /** The raw path, e.g. /tenants/acme. */
  path: string;
  /** e.g. "GET /tenants/{id}"; defaults to "<method> <path>". */
  routeKey?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** An object is sent as JSON (with content-type application/json); a string is sent as is. */
  body?: unknown;
  requestId?: string;
}

export function apiEvent(init: ApiEventInit): APIGatewayProxyEventV2 {
  const method = init.method.toUpperCase();
  const headers: Record<string, string> = { host: 'api.example.test', 'user-agent': 'switchyard-test', ...init.headers };
  let body: string | undefined;
  if (typeof init.body === 'string') {
    body = init.body;
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  const query = init.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: init.routeKey ?? `${method} ${init.path}`,
    rawPath: init.path,
    rawQueryString,
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method, path: init.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: init.requestId ?? randomUUID(),
      routeKey: init.routeKey ?? `${method} ${init.path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (init.pathParameters) event.pathParameters = init.pathParameters;
  if (body !== undefined) event.body = body;
  return event;
}

export function lambdaContext(overrides: Partial<Context> = {}): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'switchyard-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:switchyard-test',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/switchyard-test',
    logStreamName: 'test',
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
  sourceType?: 'CLUSTER' | 'DB_INSTANCE' | 'BLUE_GREEN_DEPLOYMENT';
  /** ISO time of the event (detail.Date). */
  date: string;
  message?: string;
  region?: string;
}

const DETAIL_TYPE = { CLUSTER: 'RDS DB Cluster Event', DB_INSTANCE: 'RDS DB Instance Event', BLUE_GREEN_DEPLOYMENT: 'RDS Blue Green Deployment Event' } as const;
const ARN_KIND = { CLUSTER: 'cluster', DB_INSTANCE: 'db', BLUE_GREEN_DEPLOYMENT: 'deployment' } as const;

/** An RDS event as EventBridge delivers it (EventBridge User Guide, "Amazon RDS events"). */
export function rdsEvent(init: RdsEventInit): { version: string; id: string; 'detail-type': string; source: 'aws.rds'; account: string; time: string; region: string; resources: string[]; detail: Record<string, unknown> } {
  const type = init.sourceType ?? 'CLUSTER';
  const region = init.region ?? 'us-east-1';
  const arn = `arn:aws:rds:${region}:123456789012:${ARN_KIND[type]}:${init.sourceId}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': DETAIL_TYPE[type],
    source: 'aws.rds',
    account: '123456789012',
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
