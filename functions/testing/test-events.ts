// Test support: API Gateway HTTP API (payload format 2.0) events and a Lambda context, so a test
// hands a handler exactly the shape API Gateway sends (API Gateway Developer Guide, "Working with
// AWS Lambda proxy integrations for HTTP APIs"). The builders production code also needs (the
// local stack's context and RDS event) live in functions/lib/lambda-events.ts.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { lambdaContext as baseLambdaContext } from '../lib/lambda-events.ts';

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

/** A Lambda context for tests (function name `switchyard-test` unless overridden). */
export function lambdaContext(overrides: Partial<Context> = {}): Context {
  return baseLambdaContext(overrides.functionName ?? 'switchyard-test', overrides);
}

export { rdsEvent, type RdsEventInit } from '../lib/lambda-events.ts';
