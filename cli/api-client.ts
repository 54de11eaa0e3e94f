// The CLI's HTTP client for the control API. Where the API is: --api URL, else SWITCHYARD_API,
// else the running local stack's address (its `stack.json`), else http://127.0.0.1:8080.
// The local API's token: SWITCHYARD_API_TOKEN, else `<state dir>/api-token` (local/api-token.ts),
// sent only to the API of the stack running on that state directory (its `stack.json`) unless
// given explicitly.
// Every failure becomes a typed error with a stable code the commands turn into an exit status.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readApiToken } from '../local/api-token.ts';
import { defaultStateDir } from '../local/options.ts';

export const DEFAULT_API = 'http://127.0.0.1:8080';
const REQUEST_TIMEOUT_MS = 120_000;

/** The API answered with an error body `{ error: { code, message, details? } }` (or something else non-2xx). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: { path: string; message: string }[];
  constructor(status: number, code: string, message: string, details: { path: string; message: string }[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Nothing answered at the API's address (not started, wrong --api). */
export class ApiUnreachableError extends Error {
  readonly code = 'API_UNREACHABLE' as const;
  readonly url: string;
  constructor(url: string, why: string) {
    super(`cannot reach the control API at ${url} (${why}); is \`npm start\` running? Point --api or SWITCHYARD_API at it otherwise`);
    this.name = 'ApiUnreachableError';
    this.url = url;
  }
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** The local stack's state directory: SWITCHYARD_STATE_DIR, else `.switchyard` in the checkout. */
export function stateDirOf(env: NodeJS.ProcessEnv): string {
  return resolve(env.SWITCHYARD_STATE_DIR || defaultStateDir());
}

function stackApi(env: NodeJS.ProcessEnv): string | undefined {
  const dir = stateDirOf(env);
  try {
    const info = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as { api?: unknown };
    return typeof info.api === 'string' ? info.api : undefined;
  } catch {
    return undefined;
  }
}

export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return (flag || env.SWITCHYARD_API || stackApi(env) || DEFAULT_API).replace(/\/+$/, '');
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * The bearer token for `apiUrl`: SWITCHYARD_API_TOKEN, else the local stack's token file — the
 * latter only for the address of the stack running on that state directory (`stack.json`, 0600,
 * removed at stop). Not to any loopback address: while the stack is stopped, another user's
 * process may listen on its port (or the one mistyped) and would keep the token, which stays
 * valid across restarts.
 */
export function resolveApiToken(apiUrl: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.SWITCHYARD_API_TOKEN) return env.SWITCHYARD_API_TOKEN;
  const stack = stackApi(env);
  return stack !== undefined && sameOrigin(stack, apiUrl) ? readApiToken(stateDirOf(env)) : undefined;
}

function errorOf(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    const details = Array.isArray(e.details) ? (e.details as { path: string; message: string }[]) : [];
    return new ApiError(status, e.code, e.message, details);
  }
  return new ApiError(status, `HTTP_${status}`, `the API answered HTTP ${status}`);
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  constructor(baseUrl: string, token?: string) {
    this.baseUrl = baseUrl;
    this.#token = token;
  }

  /** Whether requests carry a bearer token. */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /** The client for the API these settings name (--api flag, environment, local stack). */
  static resolve(flag: string | undefined, env: NodeJS.ProcessEnv): ApiClient {
    const url = resolveApiUrl(flag, env);
    return new ApiClient(url, resolveApiToken(url, env));
  }

  async request<T>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiUnreachableError(this.baseUrl, cause?.code ?? cause?.message ?? (err as Error).message);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) throw errorOf(res.status, body);
    return { status: res.status, headers: res.headers, body: body as T };
  }
}
