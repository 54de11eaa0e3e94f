// An HTTP request as API Gateway hands it to a Lambda function: the HTTP API's payload format 2.0
// (API Gateway Developer Guide, "Create AWS Lambda proxy integrations for HTTP APIs", "Payload
// format version"), and the Lambda's result mapped back to an HTTP response the same way. The
// rules kept here, as API Gateway applies them:
// - header names lower-case; repeated headers joined with commas; cookies moved to `cookies`;
// - repeated query parameters joined with commas in queryStringParameters, rawQueryString as sent;
// - a body that is not UTF-8 text is base64-encoded with isBase64Encoded = true;
// - a result without statusCode is "inferred": 200, content-type application/json, the value as
//   JSON (a string result as is).
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface HttpRequestInit {
  method: string;
  /** The request target as sent: path and optional query (`/tenants?limit=2`). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sourceIp: string;
  protocol: string;
}

export interface RouteMatch {
  /** e.g. "GET /tenants/{id}" */
  routeKey: string;
  pathParameters: Record<string, string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

export function splitTarget(url: string): { path: string; rawQuery: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

export function toApiEvent(req: HttpRequestInit, match: RouteMatch, now = new Date()): APIGatewayProxyEventV2 {
  const { path, rawQuery } = splitTarget(req.url);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/).filter(Boolean);
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) query[k] = Object.hasOwn(query, k) ? `${query[k]},${v}` : v;
  const method = req.method.toUpperCase();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath: path,
    rawQueryString: rawQuery,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: { method, path, protocol: req.protocol, sourceIp: req.sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: match.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (Object.keys(match.pathParameters).length > 0) event.pathParameters = match.pathParameters;
  if (req.body.length > 0) {
    if (isUtf8(req.body)) {
      event.body = req.body.toString('utf8');
    } else {
      event.body = req.body.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  return event;
}

export interface HttpResponseOut {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function isStructured(r: unknown): r is APIGatewayProxyStructuredResultV2 {
  return typeof r === 'object' && r !== null && 'statusCode' in r;
}

/** The HTTP response API Gateway would send for this Lambda result. */
export function fromLambdaResult(result: APIGatewayProxyResultV2<unknown>): HttpResponseOut {
  if (!isStructured(result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  const raw = result.body ?? '';
  const body = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { status: result.statusCode ?? 200, headers, body };
}
