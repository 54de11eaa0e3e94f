// `switchyard tenants read-endpoint <id> --on|--off [--max-replica-lag MS]` (PATCH /tenants/{id}
// readEndpoint) and the read-endpoint bits `create` and `show` print (docs/read-endpoints.md).
import type { TenantView } from '../functions/lib/views.ts';
import type { ApiClient } from './api-client.ts';
import { UsageError } from '../shared/src/usage-error.ts';
import { MAX_REPLICA_LAG_MS } from '../shared/src/domain/read-endpoint.ts';
import { int, parse, type Parsed } from './args.ts';
import { json, warnIfAny, type Io } from './output.ts';
import { withProgress } from './progress.ts';

export const READ_ENDPOINT_USAGE_LINES = `  read-endpoint <id>      turn the read-only endpoint (database <database>_ro) on or off

read-endpoint options:
  --on | --off            turn it on or off
  --max-replica-lag MS    readers further behind get no transactions (0..${MAX_REPLICA_LAG_MS}, default 5000)
  --if-version N          refuse (409) unless the tenant is still at version N
`;

/** `create`'s flags: --read-endpoint [--max-replica-lag MS] → the request's readEndpoint. */
export const CREATE_READ_OPTIONS = {
  'read-endpoint': { type: 'boolean' },
  'max-replica-lag': { type: 'string' },
} as const;

export function createReadEndpoint(p: Parsed, usage: string): { enabled: boolean; maxReplicaLagMs?: number } | undefined {
  const lag = int(p, 'max-replica-lag', usage, { min: 0, max: MAX_REPLICA_LAG_MS });
  if (p.values['read-endpoint'] !== true) {
    if (lag !== undefined) throw new UsageError('--max-replica-lag goes with --read-endpoint', usage);
    return undefined;
  }
  return { enabled: true, ...(lag !== undefined ? { maxReplicaLagMs: lag } : {}) };
}

/** The `show` line: where readers connect, and the bound; undefined when off. */
export function readEndpointLine(t: TenantView): string | undefined {
  const r = t.readEndpoint;
  if (r === undefined || !r.enabled) return undefined;
  return `database ${r.database}, user ${t.client.user} (same password); readers within ${r.maxReplicaLagMs} ms of the writer, else the writer`;
}

export async function readEndpointCommand(api: ApiClient, argv: string[], io: Io, usage: string, path: (id: string) => string): Promise<number> {
  const p = parse(argv, { on: { type: 'boolean' }, off: { type: 'boolean' }, 'max-replica-lag': { type: 'string' }, 'if-version': { type: 'string' } }, usage, { min: 1, max: 1 });
  if (p.values.help) {
    io.stdout.write(usage);
    return 0;
  }
  const id = p.positionals[0]!;
  if (p.values.on === true && p.values.off === true) throw new UsageError('give either --on or --off, not both', usage);
  const body: Record<string, unknown> = {};
  if (p.values.on === true) body.enabled = true;
  if (p.values.off === true) body.enabled = false;
  const lag = int(p, 'max-replica-lag', usage, { min: 0, max: MAX_REPLICA_LAG_MS });
  if (lag !== undefined) body.maxReplicaLagMs = lag;
  if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --on, --off and/or --max-replica-lag', usage);
  const version = int(p, 'if-version', usage, { min: 1, max: Number.MAX_SAFE_INTEGER }) ?? (await api.request<TenantView>('GET', path(id))).body.version;
  const res = await withProgress(io.stderr, `changing the read endpoint of ${id}`, api.request<TenantView>('PATCH', path(id), { body: { readEndpoint: body }, headers: { 'if-match': `"${version}"` } }));
  warnIfAny(io, res.body);
  if (p.values.json) {
    io.stdout.write(json(res.body));
    return 0;
  }
  const line = readEndpointLine(res.body);
  io.stdout.write(line === undefined ? `Tenant ${id} has no read endpoint now (version ${res.body.version}).\n` : `Read endpoint of ${id}: ${line} (version ${res.body.version}).\n`);
  return 0;
}
