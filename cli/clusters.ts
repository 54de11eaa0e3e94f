// `switchyard clusters list | delete <id> | failover <id> | switchover <id>`. Failover and
// switchover exist on the local stack only (POST /clusters/{id}/failover, local/failover.ts;
// POST /clusters/{id}/switchover, local/switchover.ts); on AWS, RDS fails over or switches over
// and its events drive the same handler.
import type { ClusterView } from '../functions/lib/views.ts';
import type { FailoverTimeline } from '../local/failover.ts';
import type { SwitchoverTimeline } from '../local/switchover.ts';
import { ApiError, type ApiClient } from './api-client.ts';
import { UsageError } from '../shared/src/usage-error.ts';
import { COMMON_HELP, int, parse } from './args.ts';
import { endpoint, json, offset, table, warnIfAny, type Io } from './output.ts';
import { getCluster, setBudget } from './clusters-budget.ts';
import { withProgress } from './progress.ts';

export const CLUSTERS_USAGE = `usage: switchyard clusters <command> [options]

commands:
  list                    every cluster: kind, writer, readers, epoch, connection budget
  get <id>                one cluster: its connection budget, its tenants' sizes and each
                          pooler's share of the budget (docs/fleet.md)
  budget <id> [--max-connections N|default] [--connection-budget N|default]
                          set the budget's basis (the server's max_connections) or the budget
  delete <id>             remove a cluster no tenant uses (refused while tenants do: CLUSTER_IN_USE)
  failover <id>           local stack only: stop the primary, promote the standby, deliver the
                          RDS failover event to the failover handler, and show the timeline
  switchover <id>         local stack only: a planned switchover with no client error — the pooler
                          holds new transactions, open ones finish, the primary is fenced once the
                          standby has its WAL, the standby promoted, the queue goes on there
    --drain-timeout S     seconds open transactions may take to finish (default 10, at most 120);
                          those still open then are rolled back

common options:
${COMMON_HELP}`;

async function list(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, {}, CLUSTERS_USAGE, { min: 0, max: 0 });
  if (p.values.help) return help(io);
  const body = (await api.request<{ items: ClusterView[] }>('GET', '/clusters')).body;
  if (p.values.json) {
    io.stdout.write(json(body));
    return 0;
  }
  if (body.items.length === 0) {
    io.stdout.write('No clusters.\n');
    return 0;
  }
  io.stdout.write(
    table(
      ['CLUSTER', 'KIND', 'WRITER', 'READERS', 'EPOCH', 'BUDGET', 'LAST CHANGE'],
      body.items.map((c) => [c.clusterId, c.kind, endpoint(c.writer), c.readers.map(endpoint).join(',') || '-', String(c.epoch), String(c.budget.budget), c.lastEventTime]),
    ),
  );
  return 0;
}

async function remove(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, {}, CLUSTERS_USAGE, { min: 1, max: 1 });
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  const res = await withProgress(io.stderr, `deleting cluster ${id}`, api.request<unknown>('DELETE', `/clusters/${encodeURIComponent(id)}`));
  warnIfAny(io, res.body);
  io.stdout.write(p.values.json ? json(res.body) : `Deleted cluster ${id}.\n`);
  return 0;
}

export function timelineText(t: FailoverTimeline): string {
  const steps: [string | undefined, string][] = [
    [t.startedAt, 'failover started'],
    [t.primaryStoppedAt, `old primary (node ${t.from.node}, ${t.from.host}:${t.from.port}) stopped`],
    [t.promotedAt, `standby (node ${t.to.node}, ${t.to.host}:${t.to.port}) promoted`],
    [t.eventDeliveredAt, `${t.event.id} handled by the failover handler: ${t.event.status}${t.epoch !== undefined ? `, epoch ${t.epoch}` : ''}${t.event.configVersion !== undefined ? `, config version ${t.event.configVersion}` : ''}`],
  ];
  if (t.poolerSwitchedAt) steps.push([t.poolerSwitchedAt, `pooler routes ${t.tenants === 1 ? 'the tenant' : `all ${t.tenants} tenants`} to the new primary`]);
  if (t.poolerAppliedAt) steps.push([t.poolerAppliedAt, `pooler applied config version ${t.event.configVersion}`]);
  steps.sort((a, b) => Date.parse(a[0] ?? '') - Date.parse(b[0] ?? ''));
  const lines = [`Cluster ${t.clusterId} failed over: node ${t.from.node} → node ${t.to.node} (now the writer at ${t.to.host}:${t.to.port})`];
  for (const [at, what] of steps) lines.push(`  ${offset(t.startedAt, at).padStart(9)}  ${what}`);
  if (t.tenants === 0) lines.push('  (no tenants use this cluster yet, so the pooler had nothing to switch)');
  else if (!t.poolerSwitchedAt) lines.push('  (the pooler was not seen routing to the new primary within 20 s; see `switchyard status`)');
  lines.push(`Node ${t.from.node} is being rebuilt as the new standby; \`switchyard status\` shows when it streams.`);
  return lines.join('\n') + '\n';
}

export function switchoverText(t: SwitchoverTimeline): string {
  const steps: [string | undefined, string][] = [
    [t.startedAt, 'switchover started'],
    [t.startDeliveredAt, `${t.startEvent.id} handled: cluster marked switching${t.startEvent.configVersion !== undefined ? `, config version ${t.startEvent.configVersion}` : ''}`],
    [t.poolerPausedAt, 'pooler holds new transactions'],
    [t.drainedAt, t.openTransactionsCut === 0 ? 'open transactions finished' : `drain bound reached: ${t.openTransactionsCut} open transaction(s) rolled back`],
    [t.primaryStoppedAt, `old primary (node ${t.from.node}, ${t.from.host}:${t.from.port}) fenced (stopped)`],
    [t.standbyCaughtUpAt, 'standby has the old primary\'s last WAL'],
    [t.promotedAt, `standby (node ${t.to.node}, ${t.to.host}:${t.to.port}) promoted`],
    [t.eventDeliveredAt, `${t.event.id} handled: new writer${t.epoch !== undefined ? `, epoch ${t.epoch}` : ''}${t.event.configVersion !== undefined ? `, config version ${t.event.configVersion}` : ''}`],
    [t.poolerResumedAt, 'pooler routes to the new primary: queued transactions go on'],
  ];
  const lines = [`Cluster ${t.clusterId} switched over: node ${t.from.node} → node ${t.to.node} (now the writer at ${t.to.host}:${t.to.port})`];
  for (const [at, what] of steps.filter((s) => s[0] !== undefined)) lines.push(`  ${offset(t.startedAt, at).padStart(9)}  ${what}`);
  lines.push(t.pauseMs !== undefined ? `Pause: new transactions waited at most ${t.pauseMs} ms.` : '(the pooler was not seen pausing and resuming; see `switchyard status`)');
  lines.push(`Node ${t.from.node} is being rebuilt as the new standby; \`switchyard status\` shows when it streams.`);
  return lines.join('\n') + '\n';
}

async function switchover(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, { 'drain-timeout': { type: 'string' } }, CLUSTERS_USAGE, { min: 1, max: 1 });
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  const drainTimeout = int(p, 'drain-timeout', CLUSTERS_USAGE, { min: 0, max: 120 });
  let t: SwitchoverTimeline;
  try {
    t = (await withProgress(io.stderr, `switching cluster ${id} over`, api.request<SwitchoverTimeline>('POST', `/clusters/${encodeURIComponent(id)}/switchover`, drainTimeout !== undefined ? { body: { drainTimeout } } : {}))).body;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405) && (err.code === 'NOT_FOUND' || err.code === 'METHOD_NOT_ALLOWED') && /no route|not allowed/.test(err.message)) {
      throw new ApiError(err.status, 'SWITCHOVER_UNSUPPORTED', `this API (${api.baseUrl}) cannot switch clusters over: that is the local stack's; on AWS use \`aws rds reboot-db-instance --force-failover\`, \`failover-db-cluster\` or \`switchover-blue-green-deployment\` (their events pause the poolers)`);
    }
    throw err;
  }
  io.stdout.write(p.values.json ? json(t) : switchoverText(t));
  return 0;
}

async function failover(api: ApiClient, argv: string[], io: Io): Promise<number> {
  const p = parse(argv, {}, CLUSTERS_USAGE, { min: 1, max: 1 });
  if (p.values.help) return help(io);
  const id = p.positionals[0]!;
  let t: FailoverTimeline;
  try {
    t = (await withProgress(io.stderr, `failing over cluster ${id}`, api.request<FailoverTimeline>('POST', `/clusters/${encodeURIComponent(id)}/failover`))).body;
  } catch (err) {
    // No such route: this API is not a local stack's.
    if (err instanceof ApiError && (err.status === 404 || err.status === 405) && (err.code === 'NOT_FOUND' || err.code === 'METHOD_NOT_ALLOWED') && /no route|not allowed/.test(err.message)) {
      throw new ApiError(err.status, 'FAILOVER_UNSUPPORTED', `this API (${api.baseUrl}) cannot fail clusters over: that is the local stack's; on AWS use \`aws rds failover-db-cluster\` or \`reboot-db-instance --force-failover\``);
    }
    throw err;
  }
  io.stdout.write(p.values.json ? json(t) : timelineText(t));
  return 0;
}

function help(io: Io): number {
  io.stdout.write(CLUSTERS_USAGE);
  return 0;
}

export async function clustersCommand(api: () => ApiClient, argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
    case 'ls':
      return list(api(), rest, io);
    case 'delete':
    case 'rm':
      return remove(api(), rest, io);
    case 'get':
      return getCluster(api(), rest, io, CLUSTERS_USAGE);
    case 'budget':
      return setBudget(api(), rest, io, CLUSTERS_USAGE);
    case 'failover':
      return failover(api(), rest, io);
    case 'switchover':
      return switchover(api(), rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(CLUSTERS_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown clusters command "${sub}"`, CLUSTERS_USAGE);
  }
}
