// Calls to the control API. Locally the console is served by the API itself (same origin) and
// sends the local API token (docs/local.md) as `Authorization: Bearer`; the token arrives once in
// the URL fragment (`/#token=...`, printed by `npm start`; a fragment is never sent to a server),
// is kept in sessionStorage (this tab only) and removed from the address bar at once.
// Deployed, /config.json names the API and the Cognito pools, and calls are SigV4-signed with the
// signed-in user's temporary credentials (deployed-auth.ts).

export const TOKEN_KEY = 'switchyard.apiToken';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A request function: local (same origin + token) or deployed (SigV4, installed by deployed-auth.ts). */
export type Transport = (path: string, init: RequestInit) => Promise<Response>;

let transport: Transport = (path, init) => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(path, { ...init, headers, credentials: 'omit', cache: 'no-store' });
};

export function setTransport(t: Transport): void {
  transport = t;
}

/** Moves a `#token=` fragment into sessionStorage and out of the address bar (and history). */
export function captureTokenFromUrl(): void {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]{16,256})(?:&|$)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, m[1]!);
  history.replaceState(null, '', `${location.pathname}${location.search}#/tenants`);
}

/** What the console shows for a 401: where the token comes from. */
export const UNAUTHORIZED_HINT = 'Open the link printed by `npm start` (it carries the access token: http://127.0.0.1:8080/#token=…). The token is kept for this tab only.';

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await transport(path, init);
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the control API cannot be reached (${(err as Error).message}); is \`npm start\` still running?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const code = e?.code ?? `HTTP_${res.status}`;
    let message = e?.message ?? (text.slice(0, 300) || res.statusText);
    if (res.status === 401) message = `${message}. ${UNAUTHORIZED_HINT}`;
    throw new ApiError(res.status, code, message, e?.details);
  }
  return json as T;
}

// Shapes of the API's answers (functions/lib/views.ts), as far as the console reads them.
export interface Tenant {
  tenantId: string;
  client: { database: string; user: string };
  auth: { md5: boolean; previousPasswordExpiresAt?: string };
  destination: { clusterId?: string; host?: string; port?: number; database: string; user: string; schema?: string };
  pool: { mode: 'transaction' | 'session'; size: number; minIdle?: number; maxClientConnections?: number } & Record<string, unknown>;
  status: 'active' | 'suspended';
  version: number;
  createdAt: string;
  updatedAt: string;
}
export interface TenantPage {
  items: Tenant[];
  cursor?: string;
}
export interface Endpoint {
  host: string;
  port: number;
}
export interface FailoverRecord {
  epoch: number;
  from: Endpoint;
  to: Endpoint;
  cause: string;
  eventTime: string;
  receivedAt: string;
  appliedAt: string;
  configVersion?: number;
  startedAt?: string;
  primaryStoppedAt?: string;
  promotedAt?: string;
  poolersSwitchedAt?: string;
  poolersAppliedAt?: string;
}
export interface Cluster {
  clusterId: string;
  kind: string;
  writer: Endpoint;
  readers: Endpoint[];
  members?: Endpoint[];
  epoch: number;
  lastEventTime: string;
  failovers?: FailoverRecord[];
  version: number;
  updatedAt: string;
}
export interface Pooler {
  poolerId: string;
  instanceId?: string;
  appliedConfigVersion: number;
  lastSeen: string;
  converged: boolean;
  stale: boolean;
}
export interface Fleet {
  configVersion: number;
  converged: boolean;
  poolers: Pooler[];
}
export interface PoolFigures {
  clientsActive: number;
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
}
export interface TenantMetrics {
  tenantId: string;
  target: { databaseSizeBytes: number; schemaSizeBytes?: number; connections: { total: number; active: number; idle: number; idleInTransaction: number } };
  pools: { total: PoolFigures; poolers: { poolerId: string; lastSeen: string; figures: PoolFigures }[] };
}
/** GET /tenants/{id}/statements (functions/lib/tenant-statements.ts). */
export interface TenantStatements {
  tenantId: string;
  poolers: number;
  window?: { since: string; until: string };
  statements: { text: string; calls: number; totalMs: number; meanMs: number; maxMs: number; poolers: number }[];
}
export interface PoolStats {
  tenantId: string;
  at: string;
  clients: { active: number; waiting: number };
  servers: { active: number; idle: number; connecting: number };
  poolSize?: number;
  maxWaitSeconds: number;
  transactionsTotal: number;
  checkoutsTotal: number;
  checkoutTimeoutsTotal: number;
  checkoutWait: { buckets: { le: number; count: number }[]; count: number; sum: number };
}
export interface CreatedTenant {
  tenant: Tenant;
  password?: string;
}
