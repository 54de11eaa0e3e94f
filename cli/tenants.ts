// `switchyard tenants create | list | show | move | delete | rotate-password | statements` over the control API
// (functions/api/tenants-*.ts). Passwords the API generates are shown once, as the API returns them.
import type { TenantView } from '../functions/lib/views.ts';
import { ApiError, type ApiClient } from './api-client.ts';
import { UsageError } from '../shared/src/usage-error.ts';
import { COMMON_HELP, int, parse, secretFrom, str, type Parsed } from './args.ts';
import { json, table, warnIfAny, type Io } from './output.ts';
import { withProgress } from './progress.ts';
import { STATEMENTS_USAGE_LINE, statementsCommand } from './tenants-statements.ts';
import { CREATE_READ_OPTIONS, READ_ENDPOINT_USAGE_LINES, createReadEndpoint, readEndpointCommand, readEndpointLine } from './tenants-read-endpoint.ts';

export const TENANTS_USAGE = `usage: switchyard tenants <command> [options]

commands:
  create <id>             create a tenant (and, on a cluster, its database and role)
  list                    every tenant
  show <id>               one tenant
  move <id>               point the tenant at another cluster, host, database or role, or change its
                          destination password (PATCH; copy the data first: docs/deploy.md)
  delete <id> [--purge]   remove a tenant (--purge also drops its database and role)
  rotate-password <id>    a new client password (the old one keeps working for --grace seconds)
${STATEMENTS_USAGE_LINE}
${READ_ENDPOINT_USAGE_LINES.split('\n\n')[0]}

create options:
  --database NAME         database name clients connect to (default: the id, - → _)
  --user NAME             user name clients connect as (default: the id, - → _)
  --cluster ID            destination cluster (default: local)
  --host HOST --port N    a fixed destination server instead of a cluster (needs --dest-password-file)
  --dest-database NAME    destination database (default: --database)
  --dest-user NAME        destination role (default: --user)
  --schema NAME           schema-per-tenant: the tenant's schema in a shared database
  --password-file FILE    the client password from FILE ("-": stdin); default: generated
  --dest-password-file F  the destination password; default: the client password
  --no-provision          do not create the database and role on the cluster
  --md5                   also accept md5 logins
  --mode MODE             transaction (default) or session
  --pool-size N           server connections (default 20)
  --max-clients N         client connections (default 1000)
  --idempotency-key KEY   make a retried create safe (Idempotency-Key header)
  --read-endpoint         also a read-only endpoint: database <database>_ro (docs/read-endpoints.md)
  --max-replica-lag MS    its replica-lag bound (default 5000)

move options (what is not given stays):
  --cluster ID            the destination cluster
  --host HOST --port N    a fixed destination server instead (port default 5432)
  --dest-database NAME    destination database
  --dest-user NAME        destination role
  --schema NAME           schema-per-tenant schema; --no-schema: the whole database
  --dest-password-file F  the destination password ("-": stdin); default: the stored one
                          (re-encrypted for a new --cluster; required with a new --host/--port)
  --if-version N          refuse (409) unless the tenant is still at version N (default: the
                          version read just before the change)

rotate-password options:
  --grace SECONDS         how long the previous password keeps working (default 3600; 0 = at once)
  --password-file FILE    the new password from FILE ("-": stdin); default: generated

${READ_ENDPOINT_USAGE_LINES.split('\n\n')[1]}
common options:
${COMMON_HELP}`;

interface Page {
  items: TenantView[];
  cursor?: string;
}

interface WithPassword {
  tenant: TenantView;
  password?: string;
}

interface StatusBody {
  pooler?: { host: string; port: number };
}

const path = (id: string): string => `/tenants/${encodeURIComponent(id)}`;

/** The pooler's address, if the API is a local stack's (GET /status); undefined on AWS. */
async function poolerAddress(api: ApiClient): Promise<{ host: string; port: number } | undefined> {
  try {
    return (await api.request<StatusBody>('GET', '/status')).body.pooler;
  } catch {
    return undefined;
  }
}

function connectLine(pooler: { host: string; port: number }, t: TenantView, password: string | undefined): string {
  const pw = password !== undefined ? `:${encodeURIComponent(password)}` : '';
  // A wildcard listener (0.0.0.0) is reached through loopback from here.
  const host = pooler.host === '0.0.0.0' || pooler.host === '::' ? '127.0.0.1' : pooler.host.includes(':') ? `[${pooler.host}]` : pooler.host;
  return `psql "postgresql://${encodeURIComponent(t.client.user)}${pw}@${host}:${pooler.port}/${encodeURIComponent(t.client.database)}"`;
}

function destinationOf(t: TenantView): string {
  const d = t.destination;
  const where = d.clusterId !== undefined ? `cluster ${d.clusterId}` : `${d.host}:${d.port ?? 5432}`;
  return `${where}, database ${d.database}${d.schema ? ` schema ${d.schema}` : ''}, role ${d.user}`;
}

function describe(t: TenantView): string {
  const rows: [string, string][] = [
    ['tenant', t.tenantId],
    ['status', t.status],
    ['client login', `database ${t.client.database}, user ${t.client.user}${t.auth.md5 ? ' (SCRAM-SHA-256 or md5)' : ' (SCRAM-SHA-256)'}`],
    ['destination', destinationOf(t)],
    ['pool', `${t.pool.mode} mode, ${t.pool.size} server connections, up to ${t.pool.maxClients} clients`],
    ['read endpoint', readEndpointLine(t) ?? 'off'],
    ['version', String(t.version)],
    ['created', t.createdAt],
    ['updated', t.updatedAt],
  ];
  if (t.auth.previousPasswordExpiresAt) rows.push(['previous password', `accepted until ${t.auth.previousPasswordExpiresAt}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** A default client-side name from a tenant id: identifiers without quoting are friendlier. */
const nameFrom = (id: string): string => id.replaceAll('-', '_');

/** The destination's options, the same for `create` and `move`. */
const DESTINATION_OPTIONS = {
  cluster: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'dest-database': { type: 'string' },
  'dest-user': { type: 'string' },
  schema: { type: 'string' },
} as const;

/**
 * The destination flags `create` and `move` share, checked: where (--cluster, or --host with an
 * optional --port) and the fields given (--dest-database, --dest-user, --schema).
 */
function destinationFlags(p: Parsed): { cluster: string | undefined; host: string | undefined; port: number | undefined; fields: Record<string, unknown> } {
  const host = str(p, 'host');
  const cluster = str(p, 'cluster');
  const port = int(p, 'port', TENANTS_USAGE, { min: 1, max: 65535 });
  if (host !== undefined && cluster !== undefined) throw new UsageError('give either --cluster or --host, not both', TENANTS_USAGE);
  if (port !== undefined && host === undefined) throw new UsageError('--port goes with --host', TENANTS_USAGE);
  const fields: Record<string, unknown> = {};
  for (const [flag, key] of [
    ['dest-database', 'database'],
    ['dest-user', 'user'],
    ['schema', 'schema'],
  ] as const) {
    const v = str(p, flag);
    if (v !== undefined) fields[key] = v;
  }
  return { cluster, host, port, fields };
}

async function create(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(
    argv,
    {
      database: { type: 'string' },
      user: { type: 'string' },
      ...DESTINATION_OPTIONS,
      'password-file': { type: 'string' },
      'dest-password-file': { type: 'string' },
      'no-provision': { type: 'boolean' },
      md5: { type: 'boolean' },
      mode: { type: 'string' },
      'pool-size': { type: 'string' },
      'max-clients': { type: 'string' },
      'idempotency-key': { type: 'string' },
      ...CREATE_READ_OPTIONS,
    },
    TENANTS_USAGE,
    { min: 1, max: 1 },
  );
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  const { cluster, host, port, fields } = destinationFlags(p);
  const mode = str(p, 'mode');
  if (mode !== undefined && mode !== 'transaction' && mode !== 'session') throw new UsageError(`--mode: "${mode}" is not transaction or session`, TENANTS_USAGE);
  // A fixed host has no cluster admin to provision with.
  const provision = host === undefined && p.values['no-provision'] !== true;
  const pwFile = str(p, 'password-file');
  const destPwFile = str(p, 'dest-password-file');
  if (pwFile === '-' && destPwFile === '-') throw new UsageError('only one of the passwords can come from stdin', TENANTS_USAGE);
  const database = str(p, 'database') ?? nameFrom(id);
  const user = str(p, 'user') ?? nameFrom(id);
  const client: Record<string, unknown> = { database, user, md5: p.values.md5 === true };
  if (pwFile !== undefined) client.password = await secretFrom(pwFile, io.stdin, TENANTS_USAGE);
  const destination: Record<string, unknown> = { ...(host !== undefined ? { host, ...(port !== undefined ? { port } : {}) } : { clusterId: cluster ?? 'local' }), ...fields };
  if (destPwFile !== undefined) destination.password = await secretFrom(destPwFile, io.stdin, TENANTS_USAGE);
  const pool: Record<string, unknown> = {};
  if (mode !== undefined) pool.mode = mode;
  const size = int(p, 'pool-size', TENANTS_USAGE, { min: 1, max: 10_000 });
  if (size !== undefined) pool.size = size;
  const maxClients = int(p, 'max-clients', TENANTS_USAGE, { min: 1, max: 1_000_000 });
  if (maxClients !== undefined) pool.maxClients = maxClients;
  const readEndpoint = createReadEndpoint(p, TENANTS_USAGE);
  const body = { tenantId: id, client, destination, ...(Object.keys(pool).length > 0 ? { pool } : {}), ...(readEndpoint !== undefined ? { readEndpoint } : {}), provision };
  const key = str(p, 'idempotency-key');
  const res = await withProgress(
    io.stderr,
    provision ? `creating tenant ${id} (provisioning its database)` : `creating tenant ${id}`,
    api.request<WithPassword>('POST', '/tenants', { body, ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}) }),
  );
  warnIfAny(io, res.body);
  // The API answers a repeated create with the same settings as a replay (200). Without an
  // Idempotency-Key the user did not ask for a retry, so for them the tenant already exists.
  if (res.status === 200 && key === undefined) {
    throw new ApiError(409, 'ALREADY_EXISTS', `tenant ${id} already exists (with these same settings; its password is not shown again — \`switchyard tenants rotate-password ${id}\` makes a new one)`);
  }
  if (p.values.json) {
    io.stdout.write(json(res.body));
    return 0;
  }
  const t = res.body.tenant;
  const pooler = await poolerAddress(api);
  if (res.status === 200) {
    io.stdout.write(`Tenant ${t.tenantId} already exists with these settings (Idempotency-Key replay); nothing changed.\n`);
    return 0;
  }
  io.stdout.write(`Created tenant ${t.tenantId}: clients log in as user ${t.client.user} to database ${t.client.database}; destination ${destinationOf(t)}${provision ? ' (provisioned)' : ''}.\n`);
  if (res.body.password !== undefined && pwFile === undefined) io.stdout.write(`Password (shown only now): ${res.body.password}\n`);
  if (pooler) io.stdout.write(`Connect through the pooler:\n  ${connectLine(pooler, t, pwFile === undefined ? res.body.password : undefined)}\n`);
  if (pooler && t.readEndpoint?.enabled === true) {
    const reads = { ...t, client: { ...t.client, database: t.readEndpoint.database } };
    io.stdout.write(`Read-only endpoint:\n  ${connectLine(pooler, reads, pwFile === undefined ? res.body.password : undefined)}\n`);
  }
  return 0;
}

async function list(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, {}, TENANTS_USAGE, { min: 0, max: 0 });
  if (p.values.help) return help(io);
  const items: TenantView[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ limit: '100', ...(cursor !== undefined ? { cursor } : {}) });
    const page = (await api.request<Page>('GET', `/tenants?${q}`)).body;
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  if (p.values.json) {
    io.stdout.write(json({ items }));
    return 0;
  }
  if (items.length === 0) {
    io.stdout.write('No tenants yet. Create one: switchyard tenants create <id>\n');
    return 0;
  }
  io.stdout.write(
    table(
      ['TENANT', 'DATABASE', 'USER', 'MODE', 'SIZE', 'STATUS', 'DESTINATION'],
      items.map((t) => [t.tenantId, t.client.database, t.client.user, t.pool.mode, String(t.pool.size), t.status, destinationOf(t)]),
    ),
  );
  return 0;
}

async function show(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, {}, TENANTS_USAGE, { min: 1, max: 1 });
  if (p.values.help) return help(io);
  const t = (await api.request<TenantView>('GET', path(p.positionals[0]!))).body;
  io.stdout.write(p.values.json ? json(t) : describe(t));
  return 0;
}

async function move(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(
    argv,
    {
      ...DESTINATION_OPTIONS,
      'no-schema': { type: 'boolean' },
      'dest-password-file': { type: 'string' },
      'if-version': { type: 'string' },
    },
    TENANTS_USAGE,
    { min: 1, max: 1 },
  );
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  const { cluster, host, port, fields } = destinationFlags(p);
  if (str(p, 'schema') !== undefined && p.values['no-schema'] === true) throw new UsageError('give either --schema or --no-schema, not both', TENANTS_USAGE);
  const destination: Record<string, unknown> = { ...fields };
  if (cluster !== undefined) destination.clusterId = cluster;
  if (host !== undefined) destination.host = host;
  if (port !== undefined) destination.port = port;
  if (p.values['no-schema'] === true) destination.schema = null;
  const pwFile = str(p, 'dest-password-file');
  if (pwFile !== undefined) destination.password = await secretFrom(pwFile, io.stdin, TENANTS_USAGE);
  if (Object.keys(destination).length === 0) throw new UsageError('nothing to change: give --cluster, --host, --dest-database, --dest-user, --schema/--no-schema or --dest-password-file', TENANTS_USAGE);
  const version = int(p, 'if-version', TENANTS_USAGE, { min: 1, max: Number.MAX_SAFE_INTEGER }) ?? (await api.request<TenantView>('GET', path(id))).body.version;
  const res = await withProgress(
    io.stderr,
    `moving tenant ${id}`,
    api.request<TenantView>('PATCH', path(id), { body: { destination }, headers: { 'if-match': `"${version}"` } }),
  );
  warnIfAny(io, res.body);
  if (p.values.json) {
    io.stdout.write(json(res.body));
    return 0;
  }
  io.stdout.write(
    `Tenant ${id} now goes to ${destinationOf(res.body)} (version ${res.body.version}).\n` +
      'Poolers switch on reload: each transaction-mode client at its next transaction, each session-mode client at its next session.\n',
  );
  return 0;
}

async function remove(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, { purge: { type: 'boolean' } }, TENANTS_USAGE, { min: 1, max: 1 });
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  const purge = p.values.purge === true;
  const res = await withProgress(io.stderr, `deleting tenant ${id}`, api.request<unknown>('DELETE', `${path(id)}${purge ? '?purge=true' : ''}`));
  warnIfAny(io, res.body);
  if (p.values.json) io.stdout.write(json(res.body));
  else io.stdout.write(`Deleted tenant ${id}${purge ? '; its database and role were dropped' : ' (its database and role were kept; --purge drops them)'}.\n`);
  return 0;
}

async function rotate(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, { grace: { type: 'string' }, 'password-file': { type: 'string' } }, TENANTS_USAGE, { min: 1, max: 1 });
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  const body: Record<string, unknown> = {};
  const grace = int(p, 'grace', TENANTS_USAGE, { min: 0, max: 7 * 24 * 3600 });
  if (grace !== undefined) body.graceSeconds = grace;
  const pwFile = str(p, 'password-file');
  if (pwFile !== undefined) body.password = await secretFrom(pwFile, io.stdin, TENANTS_USAGE);
  const res = await withProgress(io.stderr, `rotating the password of ${id}`, api.request<WithPassword>('POST', `${path(id)}/rotate-password`, { body }));
  warnIfAny(io, res.body);
  if (p.values.json) {
    io.stdout.write(json(res.body));
    return 0;
  }
  if (pwFile === undefined && res.body.password !== undefined) io.stdout.write(`New password for ${id} (shown only now): ${res.body.password}\n`);
  else io.stdout.write(`Password of ${id} changed.\n`);
  const until = res.body.tenant.auth.previousPasswordExpiresAt;
  io.stdout.write(until ? `The previous password keeps working until ${until}.\n` : 'The previous password no longer works.\n');
  return 0;
}

function help(io: Io): number {
  io.stdout.write(TENANTS_USAGE);
  return 0;
}

export async function tenantsCommand(api: () => ApiClient, argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(api(), rest, io);
    case 'list':
    case 'ls':
      return list(api(), rest, io);
    case 'show':
    case 'get':
      return show(api(), rest, io);
    case 'move':
      return move(api(), rest, io);
    case 'delete':
    case 'rm':
      return remove(api(), rest, io);
    case 'rotate-password':
      return rotate(api(), rest, io);
    case 'statements':
      return statementsCommand(api(), rest, io, TENANTS_USAGE, path);
    case 'read-endpoint':
      return readEndpointCommand(api(), rest, io, TENANTS_USAGE, path);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(TENANTS_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown tenants command "${sub}"`, TENANTS_USAGE);
  }
}
