// The control API on one machine: a small HTTP server that turns each request into the API
// Gateway v2 event the deployed API would send (http-event.ts) and calls the very same Lambda
// handler (routes.ts), then writes its result back as API Gateway would.
//
// On AWS the API is IAM-signed; here it listens on loopback only and every request passes
// api-guard.ts first: the Host must be this server (DNS rebinding), and an API route needs the
// bearer token from the state directory (api-token.ts) and no foreign Origin, and a body must be
// declared JSON — so that a web page in the user's browser cannot drive it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { lambdaContext } from '../functions/lib/lambda-events.ts';
import type { Logger } from 'pino';
import { allowedHosts, checkHost, checkMediaType, guardApiRequest, tokenDigest, type Refusal } from './api-guard.ts';
import { fromLambdaResult, splitTarget, toApiEvent } from './http-event.ts';
import { Router, type Route } from './router.ts';

/** A Lambda handler of the HTTP API (middy handlers fit). */
export type ApiLambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2<unknown>>;

/** API Gateway's own limit is 10 MB; the control API's bodies are a few KB. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** API Gateway HTTP APIs time out integrations after 30 s. */
export const LAMBDA_TIMEOUT_MS = 30_000;

/** A file served as is (the web console's HTML, scripts, styles). */
export interface StaticFile {
  body: Buffer;
  contentType: string;
  headers?: Record<string, string>;
}

/**
 * Static files for a GET/HEAD of a path that is no API route: they need only the Host check
 * (a page, its scripts and styles hold no secret; the console reads the token from the URL
 * fragment, which never reaches the server). Undefined: not one of ours (then the API's 401/404).
 */
export type StaticFiles = (path: string) => StaticFile | undefined | Promise<StaticFile | undefined>;

export interface ApiServerOptions {
  host: string;
  port: number;
  routes: readonly Route<ApiLambdaHandler>[];
  log: Logger;
  /** The bearer token every API request must carry (`<stateDir>/api-token`, see api-token.ts). */
  token: string;
  staticFiles?: StaticFiles;
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  readonly routeKeys: string[];
  close(): Promise<void>;
}

export class NotLoopbackError extends Error {
  readonly code = 'NOT_LOOPBACK' as const;
  constructor(host: string) {
    super(`the local control API listens on loopback only (a token keeps web pages out, not other machines); refusing host "${host}"`);
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, ...headers });
  res.end(data);
}

function refuse(res: ServerResponse, r: Refusal): void {
  // The request's body (if any) is not read: close rather than drain it.
  sendJson(res, r.status, errorBody(r.code, r.message), { ...r.headers, connection: 'close' });
}

function sendStatic(res: ServerResponse, method: string, file: StaticFile): void {
  res.writeHead(200, { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', ...file.headers, 'content-type': file.contentType, 'content-length': file.body.length });
  res.end(method === 'HEAD' ? undefined : file.body);
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    // Past the limit keep reading (and dropping) so the client gets the 413 rather than a reset
    // mid-upload; give up on a sender that goes on and on.
    if (size > MAX_BODY_BYTES * 16) break;
    if (size <= MAX_BODY_BYTES) chunks.push(b);
  }
  return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  if (!LOOPBACK.has(opts.host)) throw new NotLoopbackError(opts.host);
  if (opts.token.length < 32) throw new Error('the local control API needs a token of at least 32 characters');
  const router = new Router(opts.routes);
  const log = opts.log;
  const expectedToken = tokenDigest(opts.token);
  let hosts: ReadonlySet<string> = new Set(); // set once listening (port 0 picks the port)

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const host = checkHost(req.headers, hosts);
    if (host) return refuse(res, host);
    const { path } = splitTarget(req.url ?? '/');
    const found = router.lookup(method === 'HEAD' ? 'GET' : method, path);
    // The one place where a request is let through without the token: a static file.
    if (found.kind === 'not-found' && (method === 'GET' || method === 'HEAD') && opts.staticFiles) {
      const file = await opts.staticFiles(path);
      if (file) return sendStatic(res, method, file);
    }
    const denied = guardApiRequest(req.headers, expectedToken);
    if (denied) return refuse(res, denied);
    if (found.kind === 'not-found') {
      sendJson(res, 404, errorBody('NOT_FOUND', `no route for ${method} ${path}`));
      return;
    }
    if (found.kind === 'method-not-allowed') {
      sendJson(res, 405, errorBody('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${found.allow.join(', ')})`), { allow: found.allow.join(', ') });
      return;
    }
    const mediaType = checkMediaType(req.headers);
    if (mediaType) return refuse(res, mediaType);
    const body = await readBody(req);
    if (body === 'too-large') {
      sendJson(res, 413, errorBody('PAYLOAD_TOO_LARGE', `request body larger than ${MAX_BODY_BYTES} bytes`), { connection: 'close' });
      return;
    }
    // The token has done its job: it never reaches a handler (nor anything a handler might log).
    const { authorization: _token, ...headers } = req.headers;
    const event = toApiEvent(
      { method, url: req.url ?? '/', headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', protocol: `HTTP/${req.httpVersion}` },
      found.match,
    );
    const deadline = Date.now() + LAMBDA_TIMEOUT_MS;
    const context = lambdaContext(`switchyard-local-${found.match.routeKey.replace(/[^A-Za-z0-9]+/g, '-')}`, {
      awsRequestId: event.requestContext.requestId,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    });
    let result: APIGatewayProxyResultV2<unknown>;
    try {
      result = await found.route.handler(event, context);
    } catch (err) {
      // The handlers map their own errors; an escape here is a bug: no detail to the client
      // (API Gateway answers 500 "Internal Server Error" when the integration fails).
      log.error({ err, route: found.match.routeKey, requestId: event.requestContext.requestId }, 'handler failed');
      sendJson(res, 500, errorBody('INTERNAL', 'internal error'));
      return;
    }
    const out = fromLambdaResult(result);
    res.writeHead(out.status, { ...out.headers, 'content-length': out.body.length });
    res.end(method === 'HEAD' ? undefined : out.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request handling failed');
      if (!res.headersSent) sendJson(res, 500, errorBody('INTERNAL', 'internal error'));
      else res.destroy();
    });
  });
  // Keep-alive sockets would hold close() up; the CLI makes one request per command anyway.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(port);
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    routeKeys: router.routeKeys,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
