// The middy pipeline every API handler shares: lower-case headers, JSON body, a per-request child
// logger (request id, route; handlers add the tenant id), one access-log line, and the mapping of
// every error to `{ error: { code, message } }` (error-response.ts).
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { invalidTextIn } from '../../shared/src/domain/text.ts';
import { redactText } from '../../shared/src/redact-text.ts';
import { mapError } from './error-response.ts';
import { InvalidCharacterError } from './http-errors.ts';
import { jsonBody, type ParsedBody } from './json-body.ts';
import type { Logger } from './logger.ts';

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly requestId: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Parsed JSON body; undefined when the request had none. */
  readonly body: unknown;
  /** Child logger bound to this request; `log.setBindings({ tenantId })` adds to every later line. */
  readonly log: Logger;
}

export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type ApiEvent = APIGatewayProxyEventV2 & Partial<ParsedBody>;
export type ApiLambda = middy.MiddyfiedHandler<ApiEvent, APIGatewayProxyStructuredResultV2, Error, Context>;

/** Where a handler gets its dependencies: a value (tests) or a lazy factory (Lambda). */
export type DepsSource<D> = D | (() => D | Promise<D>);

export function resolveDeps<D>(src: DepsSource<D>): D | Promise<D> {
  return typeof src === 'function' ? (src as () => D | Promise<D>)() : src;
}

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // Responses may carry a one-time password; no cache may keep them (RFC 9111 §5.2.2.5).
  'cache-control': 'no-store',
} as const;

export function toLambdaResult(res: ApiResponse): APIGatewayProxyStructuredResultV2 {
  const out: APIGatewayProxyStructuredResultV2 = { statusCode: res.status, headers: { ...BASE_HEADERS, ...res.headers } };
  if (res.body !== undefined) out.body = JSON.stringify(res.body);
  return out;
}

interface RequestState<D> {
  deps: D;
  log: Logger;
  start: number;
}

/**
 * Wraps a route function as a Lambda handler. The deps are resolved first (their `log` is the base
 * logger, so tests can silence or capture it); the route receives them with the request.
 */
export function apiHandler<D extends { log: Logger }>(
  deps: DepsSource<D>,
  route: (req: ApiRequest, deps: D) => Promise<ApiResponse>,
): ApiLambda {
  // Per-invocation state, keyed by the event object (middy hands the same object to every phase).
  const state = new WeakMap<object, RequestState<D>>();

  const core = async (event: ApiEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const st = state.get(event);
    if (!st) throw new Error('request state missing');
    rejectControlCharacters(event);
    const req: ApiRequest = {
      method: event.requestContext?.http?.method ?? 'GET',
      path: event.rawPath,
      requestId: requestIdOf(event, context),
      headers: event.headers ?? {},
      pathParameters: event.pathParameters ?? {},
      query: event.queryStringParameters ?? {},
      body: event.parsedBody,
      log: st.log,
    };
    const res = await route(req, st.deps);
    st.log.info({ status: res.status, ms: Date.now() - st.start }, 'request done');
    return toLambdaResult(res);
  };

  return middy<ApiEvent, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use({
      before: async (request) => {
        const d = await resolveDeps(deps);
        const log = d.log.child({ requestId: requestIdOf(request.event, request.context), route: request.event.routeKey });
        state.set(request.event, { deps: d, log, start: Date.now() });
      },
    })
    .use(httpHeaderNormalizer())
    .use(jsonBody())
    .use({
      onError: (request) => {
        const mapped = mapError(request.error);
        const log = state.get(request.event)?.log;
        if (log) {
          if (mapped.expected) {
            log.info({ status: mapped.status, code: mapped.body.error.code }, 'request refused');
          } else {
            // Server side only: the error (message, stack, SQLSTATE) — never the request body.
            log.error({ err: request.error, status: mapped.status }, 'request failed');
          }
        } else {
          // The deps (and so the logger) could not be built: stderr is all there is.
          console.error('switchyard: request failed before a logger existed:', request.error instanceof Error ? redactText(request.error.message) : 'unknown error');
        }
        request.response = toLambdaResult({ status: mapped.status, body: mapped.body });
      },
    })
    .handler(core);
}

/**
 * Plain text only, in every route: a control character or an unpaired surrogate in the body, a
 * path parameter or a query parameter is a 400 INVALID_CHARACTER (shared/src/domain/text.ts says
 * why). Before the route's schema, so no field can forget it.
 */
function rejectControlCharacters(event: ApiEvent): void {
  const issues = [
    ...invalidTextIn(event.parsedBody),
    ...invalidTextIn(event.pathParameters ?? {}).map((i) => ({ ...i, path: `path.${i.path}` })),
    ...invalidTextIn(event.queryStringParameters ?? {}).map((i) => ({ ...i, path: `query.${i.path}` })),
  ];
  if (issues.length > 0) throw new InvalidCharacterError(issues);
}

function requestIdOf(event: ApiEvent, context: Context | undefined): string {
  return event.requestContext?.requestId ?? context?.awsRequestId ?? 'local';
}

export function json(status: number, body: unknown, headers?: Record<string, string>): ApiResponse {
  return headers ? { status, body, headers } : { status, body };
}
