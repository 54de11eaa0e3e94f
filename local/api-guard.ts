// What the local control API checks before it looks at a request, so that only the user's own
// programs can drive it — not a web page the user happens to open, which the browser lets send
// requests to 127.0.0.1 (see local/api-token.ts and docs/local.md, "Who can use the local API"):
//
// 1. Host (every request, static files too): the loopback address or `localhost` with the
//    server's own port. A page that uses DNS rebinding (its name re-resolved to 127.0.0.1 so the
//    browser treats the API as same-origin) sends its own name as Host (RFC 9110 §7.2).
// 2. Origin (API routes): absent (not a browser, or a same-origin GET) or the server's own origin
//    `http://<Host>`. Browsers send Origin on every cross-origin request and on every POST, so a
//    cross-site "simple" request (no CORS preflight) is refused here (RFC 6454 §7, Fetch
//    standard "Origin header"). `null` (sandboxed frames, file:) is foreign.
// 3. The bearer token (API routes): `Authorization: Bearer <token>` (RFC 6750 §2.1), compared in
//    constant time.
// 4. A request body must be declared JSON (application/json or a +json type): a browser sends
//    text/plain, form types or, for a Blob body, no Content-Type at all without a preflight.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { jsonMediaType } from '../functions/lib/json-body.ts';

export interface Refusal {
  status: number;
  code: 'FORBIDDEN_HOST' | 'FORBIDDEN_ORIGIN' | 'UNAUTHENTICATED' | 'UNSUPPORTED_MEDIA_TYPE';
  message: string;
  headers?: Record<string, string>;
}

/** The Host values that name this server: loopback names with its own port (lower-case). */
export function allowedHosts(port: number): ReadonlySet<string> {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  // A browser leaves the default port out of Host (RFC 9110 §7.2).
  return new Set([...names.map((n) => `${n}:${port}`), ...(port === 80 ? names : [])]);
}

export function checkHost(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): Refusal | undefined {
  const host = headers.host?.toLowerCase();
  if (host !== undefined && allowed.has(host)) return undefined;
  return {
    status: 403,
    code: 'FORBIDDEN_HOST',
    message: `the local control API answers only to ${[...allowed][0]} or localhost (Host ${host === undefined ? 'missing' : `"${host.slice(0, 100)}"`})`,
  };
}

/** After checkHost: the server's own origin is `http://` + the Host the request was sent to. */
export function checkOrigin(headers: IncomingHttpHeaders): Refusal | undefined {
  const origin = headers.origin;
  if (origin === undefined || origin.toLowerCase() === `http://${headers.host?.toLowerCase()}`) return undefined;
  return { status: 403, code: 'FORBIDDEN_ORIGIN', message: `requests from another origin are refused (Origin "${origin.slice(0, 100)}")` };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** `expectedDigest` = sha256 of the token, so the comparison takes the same time whatever was sent. */
export function checkToken(headers: IncomingHttpHeaders, expectedDigest: Buffer): Refusal | undefined {
  const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(headers.authorization ?? '');
  if (m && timingSafeEqual(digest(m[1]!), expectedDigest)) return undefined;
  return {
    status: 401,
    code: 'UNAUTHENTICATED',
    message: `${headers.authorization === undefined ? 'missing' : 'wrong'} API token: send "Authorization: Bearer <token>" with the token in <state dir>/api-token`,
    headers: { 'www-authenticate': `Bearer realm="switchyard-local"${headers.authorization === undefined ? '' : ', error="invalid_token"'}` },
  };
}

export function tokenDigest(token: string): Buffer {
  return digest(token);
}

/** A request that carries a body (RFC 9112 §6.3: Content-Length > 0 or Transfer-Encoding). */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

export function checkMediaType(headers: IncomingHttpHeaders): Refusal | undefined {
  if (!hasBody(headers) || jsonMediaType.test(headers['content-type'] ?? '')) return undefined;
  return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'request body must be application/json' };
}

/** Who may use an API route (after checkHost), in order; the first refusal wins. */
export function guardApiRequest(headers: IncomingHttpHeaders, expectedTokenDigest: Buffer): Refusal | undefined {
  return checkOrigin(headers) ?? checkToken(headers, expectedTokenDigest);
}
