// `switchyard status`: on the local stack (GET /status) the nodes, the pooler, its pools and
// clients and the config version it applied; against any other API the fleet's config versions
// from its heartbeats (GET /poolers) and the clusters.
import type { ClusterView, PoolersResponse } from '../functions/lib/views.ts';
import { budgetLine } from './clusters-budget.ts';
import type { LocalStatus } from '../local/stack.ts';
import { ApiError, type ApiClient } from './api-client.ts';
import { COMMON_HELP, parse } from './args.ts';
import { endpoint, json, table, type Io } from './output.ts';

export const STATUS_USAGE = `usage: switchyard status [options]

Pools, clients and the config version the pooler applied (and, on the local stack, the PostgreSQL
nodes and their roles).

options:
${COMMON_HELP}`;

type Poolers = PoolersResponse;

export function localStatusText(s: LocalStatus): string {
  const out: string[] = [];
  const applied = s.pooler.appliedConfigVersion;
  const verdict = applied === undefined ? 'unknown (metrics unreachable)' : applied >= s.configVersion ? `${applied} (up to date)` : `${applied} (behind; it catches up on its next poll or push)`;
  out.push(`Config version ${s.configVersion}; the pooler has applied ${verdict}`);
  out.push(`Pooler      ${s.pooler.host}:${s.pooler.port}  pid ${s.pooler.pid}  ${s.pooler.running ? 'running' : 'NOT RUNNING'}  metrics ${s.pooler.metrics}`);
  out.push(`Control API ${s.api}`);
  out.push('');
  out.push(
    table(
      ['NODE', 'ADDRESS', 'ROLE', 'REPLICATION'],
      s.nodes.map((n) => [n.name, `${n.host}:${n.port}`, n.role, n.role === 'primary' ? (n.streaming ? 'a standby streams from it' : 'no standby streaming') : n.role === 'standby' ? (n.streaming ? 'streaming' : 'not streaming yet') : '-']),
    ).trimEnd(),
  );
  for (const c of s.clusters) out.push(`Cluster ${c.clusterId}: writer ${endpoint(c.writer)}, readers ${c.readers.map(endpoint).join(',') || '-'}, epoch ${c.epoch}`);
  out.push('');
  if (s.pools === undefined) out.push(`Pools: unavailable (${s.poolsError ?? 'admin console unreachable'})`);
  else if (s.pools.length === 0) out.push('Pools: none (no tenants yet)');
  else {
    out.push(
      table(
        ['TENANT', 'USER', 'MODE', 'CLIENTS', 'WAITING', 'SERVERS ACTIVE', 'IDLE', 'TARGET'],
        s.pools.map((p) => [p.tenant, p.user, p.mode, String(p.clientsActive), String(p.clientsWaiting), String(p.serversActive), String(p.serversIdle), endpoint(p.target)]),
      ).trimEnd(),
    );
    out.push(`Clients: ${s.clients}`);
  }
  return out.join('\n') + '\n';
}

export async function statusCommand(api: () => ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, {}, STATUS_USAGE, { min: 0, max: 0 });
  if (p.values.help) {
    io.stdout.write(STATUS_USAGE);
    return 0;
  }
  const client = api();
  let local: LocalStatus | undefined;
  try {
    local = (await client.request<LocalStatus>('GET', '/status')).body;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  if (local) {
    // The pooler's budget lease and health, as on AWS (GET /poolers); best effort.
    const fleet = await client.request<Poolers>('GET', '/poolers').then((r) => r.body, () => undefined);
    io.stdout.write(p.values.json ? json({ ...local, ...(fleet ? { fleet } : {}) }) : localStatusText(local) + (fleet ? `\n${fleetText(fleet)}` : ''));
    return 0;
  }
  // Not a local stack: what the deployed API knows.
  const [poolers, clusters] = await Promise.all([client.request<Poolers>('GET', '/poolers'), client.request<{ items: ClusterView[] }>('GET', '/clusters')]);
  if (p.values.json) {
    io.stdout.write(json({ ...poolers.body, clusters: clusters.body.items }));
    return 0;
  }
  io.stdout.write(fleetText(poolers.body));
  for (const c of clusters.body.items) io.stdout.write(`Cluster ${c.clusterId}: writer ${endpoint(c.writer)}, epoch ${c.epoch}, ${budgetLine(c)}\n`);
  return 0;
}

/** Every pooler's applied config version, health and fleet budget lease (GET /poolers). */
export function fleetText(b: Poolers): string {
  const budgets = b.budgets;
  const leases = budgets === undefined || budgets.leases.length === 0 ? 'no budget leases' : `budget leases generation ${budgets.generation}, ${budgets.settled ? 'settled' : 'rebalancing'}`;
  let out = `Config version ${b.configVersion}; fleet ${b.converged ? 'converged' : 'NOT converged'}; ${leases}\n\n`;
  if (b.poolers.length > 0) {
    out +=
      table(
        ['POOLER', 'APPLIED', 'LAST SEEN', 'STATE', 'HEALTH', 'LEASE'],
        b.poolers.map((x) => [
          x.poolerId,
          String(x.appliedConfigVersion),
          x.lastSeen,
          x.stale ? 'stale' : x.converged ? 'up to date' : 'behind',
          x.health ?? '-',
          x.lease ? `until ${x.lease.expiresAt}${x.lease.inEffect ? '' : ' (shares not in effect yet)'}` : '-',
        ]),
      );
  } else out += 'No pooler has reported yet.\n';
  return out;
}
