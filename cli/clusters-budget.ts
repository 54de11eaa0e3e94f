// `switchyard clusters get <id>` and `switchyard clusters budget <id> [--max-connections N]
// [--connection-budget N|default]`: a cluster's connection budget, its tenants' sizes and each
// pooler's share (GET /clusters/{id}), and setting it (PATCH /clusters/{id});
// docs/fleet.md.
import type { ClusterLeasesView } from '../functions/lib/budget-views.ts';
import type { ClusterView } from '../functions/lib/views.ts';
import { MAX_CONNECTIONS_LIMIT } from '../shared/src/domain/budget.ts';
import { UsageError } from '../shared/src/usage-error.ts';
import type { ApiClient } from './api-client.ts';
import { int, parse, str } from './args.ts';
import { endpoint, json, table, warnIfAny, type Io } from './output.ts';

type ClusterDetail = ClusterView & { leases: ClusterLeasesView };

export function budgetLine(c: ClusterView): string {
  const b = c.budget;
  return b.explicit ? `budget ${b.budget} server connections (set explicitly)` : `budget ${b.budget} server connections (max_connections ${b.maxConnections} minus ${b.reserved} reserved)`;
}

export function clusterDetailText(c: ClusterDetail): string {
  const l = c.leases;
  const out = [`Cluster ${c.clusterId} (${c.kind}): writer ${endpoint(c.writer)}, readers ${c.readers.map(endpoint).join(',') || '-'}, epoch ${c.epoch}`, budgetLine(c), ''];
  out.push(`Tenants: sizes add up to ${l.asked}${l.asked > c.budget.budget ? ' (more than the budget: they share it on demand)' : ''}`);
  if (l.tenants.length > 0) out.push(table(['TENANT', 'SIZE'], l.tenants.map((t) => [t.tenantId, String(t.size)])).trimEnd());
  out.push('', `Pooler shares (generation ${l.generation}, ${l.settled ? 'settled' : 'rebalancing'}):`);
  if (l.poolers.length === 0) out.push('  none: no pooler holds a budget lease');
  else out.push(table(['POOLER', 'SHARE', 'IN EFFECT', 'LEASE EXPIRES'], l.poolers.map((p) => [p.poolerId, String(p.share), p.inEffect ? 'yes' : 'no', p.live ? p.expiresAt : `${p.expiresAt} (expired)`])).trimEnd());
  return out.join('\n') + '\n';
}

export async function getCluster(api: ApiClient, argv: string[], io: Io, usage: string): Promise<number> {
  const p = parse(argv, {}, usage, { min: 1, max: 1 });
  if (p.values.help) return help(io, usage);
  const c = (await api.request<ClusterDetail>('GET', `/clusters/${encodeURIComponent(p.positionals[0]!)}`)).body;
  io.stdout.write(p.values.json ? json(c) : clusterDetailText(c));
  return 0;
}

export async function setBudget(api: ApiClient, argv: string[], io: Io, usage: string): Promise<number> {
  const p = parse(argv, { 'max-connections': { type: 'string' }, 'connection-budget': { type: 'string' } }, usage, { min: 1, max: 1 });
  if (p.values.help) return help(io, usage);
  const body: { maxConnections?: number | null; connectionBudget?: number | null } = {};
  const range = { min: 1, max: MAX_CONNECTIONS_LIMIT };
  for (const [flag, key] of [['max-connections', 'maxConnections'], ['connection-budget', 'connectionBudget']] as const) {
    if (str(p, flag) === 'default') body[key] = null;
    else {
      const v = int(p, flag, usage, range);
      if (v !== undefined) body[key] = v;
    }
  }
  if (Object.keys(body).length === 0) throw new UsageError('give --max-connections and/or --connection-budget', usage);
  const res = await api.request<ClusterView>('PATCH', `/clusters/${encodeURIComponent(p.positionals[0]!)}`, { body });
  warnIfAny(io, res.body);
  io.stdout.write(p.values.json ? json(res.body) : `Cluster ${res.body.clusterId}: ${budgetLine(res.body)}.\n`);
  return 0;
}

function help(io: Io, usage: string): number {
  io.stdout.write(usage);
  return 0;
}
