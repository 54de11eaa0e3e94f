// `clusters failover <id>` on one machine does what AWS does for a Multi-AZ instance failover:
//   1. the old primary goes away (fast shutdown: sessions are ended, in-flight transactions roll
//      back; a clean shutdown first streams all WAL to the standby, so no acknowledged commit is
//      lost — PostgreSQL docs, "Log-Shipping Standby Servers", on walsender shutdown);
//   2. the standby is promoted (pg_ctl promote, waiting until it accepts writes);
//   3. an RDS event, shaped as EventBridge delivers it ("RDS-EVENT-0049 Multi-AZ instance failover
//      completed", source DB_INSTANCE, SourceIdentifier = the cluster's rds.instanceIdentifier),
//      is handed to the SAME failover handler as on AWS (functions/failover/rds-event.ts). It does
//      not trust the event: it asks the local topology (pg_is_in_recovery() on every member),
//      stores the new writer with a new epoch, publishes the targets, bumps the config version
//      and pushes a reload to the pooler (SIGHUP via pooler.pid).
// Meanwhile a watcher polls the pooler's admin console (SHOW DATABASES) to see the moment every
// tenant of the cluster is routed to the new primary — possibly before the event, because the
// pooler also finds a promoted standby on its own. Afterwards the old primary is rebuilt as the
// new standby in the background, so the next failover can go the other way.
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { RdsEventResult } from '../functions/failover/rds-event.ts';
import { HttpError } from '../functions/lib/http-errors.ts';
import type { Cluster } from '../shared/src/domain/cluster.ts';
import { VersionConflictError } from '../shared/src/domain/errors.ts';
import { annotateFailover } from '../shared/src/domain/failover-history.ts';
import { lambdaContext, rdsEvent } from '../functions/lib/lambda-events.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import type { PgNode } from './nodes.ts';
import type { ClusterNodes } from './cluster-nodes.ts';
import type { PoolerConsole } from './pooler-observer.ts';

/** RDS's "Multi-AZ instance failover completed" (shared/src/domain/rds-events.ts). */
export const LOCAL_FAILOVER_EVENT_ID = 'RDS-EVENT-0049';
/** How long to watch for the pooler to route to the new primary after the event. */
export const SWITCH_WATCH_MS = 20_000;

export type RdsEventLambda = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<RdsEventResult>;

export interface FailoverContext {
  adapters: Pick<Adapters, 'clusters' | 'tenants'>;
  nodes: ClusterNodes;
  /** The cluster this stack runs; other clusters cannot be failed over here. */
  clusterId: string;
  rdsEventHandler: RdsEventLambda;
  console: PoolerConsole | undefined;
  /** The published config version the pooler has applied (SHOW CONFIG, pooler-observer.ts); undefined when it cannot tell. */
  appliedConfigVersion(): Promise<number | undefined>;
  /** Rebuilds `oldPrimary` as a standby of `newPrimary` (runs in the background). */
  rebuild(oldPrimary: PgNode, newPrimary: PgNode): void;
}

export interface NodeRef {
  node: string;
  host: string;
  port: number;
}

export interface FailoverTimeline {
  clusterId: string;
  from: NodeRef;
  to: NodeRef;
  startedAt: string;
  /** The old primary has shut down. */
  primaryStoppedAt: string;
  /** The standby accepts writes. */
  promotedAt: string;
  /** The failover handler returned (cluster stored, targets published, reload pushed). */
  eventDeliveredAt: string;
  event: { id: string; status: RdsEventResult['status']; configVersion?: number };
  epoch?: number;
  /** Every tenant of the cluster is routed to the new primary (admin console); absent when the cluster has no tenants or it was not seen. */
  poolerSwitchedAt?: string;
  /** The pooler has applied the config version the handler published (its log). */
  poolerAppliedAt?: string;
  tenants: number;
  /** The old primary is being rebuilt as the new standby. */
  standbyRebuild: 'started';
}

export class FailoverError extends HttpError {}

const ref = (n: PgNode): NodeRef => ({ node: n.name, host: n.endpoint.host, port: n.port });
const iso = (t: number): string => new Date(t).toISOString();

/** Polls the pooler's routing until every tenant in `tenants` goes to `port`. */
export function watchSwitch(console: PoolerConsole | undefined, tenants: readonly string[], port: number): { switchedAt: Promise<number | undefined>; stop(): void } {
  let stopped = false;
  const switchedAt = (async (): Promise<number | undefined> => {
    if (!console || tenants.length === 0) return undefined;
    while (!stopped) {
      try {
        const targets = await console.targets();
        if (tenants.every((t) => targets.get(t) === port || !targets.has(t)) && tenants.some((t) => targets.has(t))) return Date.now();
      } catch {
        // the console may be busy or reconnecting; try again
      }
      // Fine-grained: the switch is a matter of milliseconds and the timeline reports it.
      await new Promise((r) => setTimeout(r, 5));
    }
    return undefined;
  })();
  return { switchedAt, stop: () => void (stopped = true) };
}

export async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<undefined>((r) => (timer = setTimeout(() => (onTimeout(), r(undefined)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** When the pooler has applied `configVersion` (SHOW CONFIG), epoch ms; undefined if not within SWITCH_WATCH_MS. */
export async function waitApplied(ctx: Pick<FailoverContext, 'appliedConfigVersion'>, configVersion: number | undefined): Promise<number | undefined> {
  if (configVersion === undefined) return undefined;
  const deadline = Date.now() + SWITCH_WATCH_MS;
  while (Date.now() < deadline) {
    const v = await ctx.appliedConfigVersion().catch(() => undefined);
    if (v !== undefined && v >= configVersion) return Date.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

export interface LocalPair {
  cluster: Cluster & { rds: { instanceIdentifier: string } };
  primary: PgNode;
  standby: PgNode;
}

/** The cluster this stack runs, its running primary and its streaming standby; an HttpError otherwise. */
export async function localPair(ctx: FailoverContext, clusterId: string): Promise<LocalPair> {
  const cluster = await ctx.adapters.clusters.get(clusterId);
  if (!cluster) throw new HttpError(404, 'NOT_FOUND', `cluster ${clusterId} not found`);
  if (clusterId !== ctx.clusterId || !cluster.rds?.instanceIdentifier) {
    throw new HttpError(409, 'NOT_LOCAL', `cluster ${clusterId} is not run by this local stack (only "${ctx.clusterId}" is); fail it over where it runs`);
  }
  const infos = await ctx.nodes.info();
  const rebuilding = infos.find((i) => i.role === 'rebuilding');
  if (rebuilding) throw new HttpError(409, 'STANDBY_NOT_READY', `node ${rebuilding.name} is still being rebuilt as the standby; try again in a few seconds (switchyard status shows it)`);
  const pIdx = infos.findIndex((i) => i.role === 'primary');
  if (pIdx < 0) throw new HttpError(409, 'NO_PRIMARY', 'no PostgreSQL node is a running primary');
  const primary = ctx.nodes.nodes[pIdx]!;
  const standby = ctx.nodes.other(primary);
  const sInfo = infos[1 - pIdx]!;
  if (sInfo.role !== 'standby' || !sInfo.streaming) {
    throw new HttpError(409, 'STANDBY_NOT_READY', `node ${standby.name} is not a streaming standby (${sInfo.role}); nothing to fail over to`);
  }
  return { cluster: cluster as LocalPair['cluster'], primary, standby };
}

export async function failoverLocalCluster(ctx: FailoverContext, clusterId: string): Promise<FailoverTimeline> {
  const { cluster, primary, standby } = await localPair(ctx, clusterId);

  const tenants = (await ctx.adapters.tenants.listByCluster(clusterId)).filter((t) => t.status === 'active').map((t) => t.tenantId);
  const watcher = watchSwitch(ctx.console, tenants, standby.port);
  const startedAt = Date.now();
  let primaryStoppedAt: number;
  let promotedAt: number;
  try {
    await primary.stop('fast');
    primaryStoppedAt = Date.now();
    try {
      await standby.promote();
      promotedAt = Date.now();
    } catch (err) {
      // Put things back as they were rather than leave the cluster without a writer.
      await primary.start().catch(() => undefined);
      throw new FailoverError(500, 'FAILOVER_FAILED', `promoting node ${standby.name} failed (${(err as Error).message.split('\n')[0]}); node ${primary.name} was restarted as the primary`);
    }
  } catch (err) {
    watcher.stop();
    if (err instanceof HttpError) throw err;
    throw new FailoverError(500, 'FAILOVER_FAILED', `stopping node ${primary.name} failed: ${(err as Error).message.split('\n')[0]}`);
  }

  const event = rdsEvent({
    eventId: LOCAL_FAILOVER_EVENT_ID,
    sourceId: cluster.rds.instanceIdentifier,
    sourceType: 'DB_INSTANCE',
    date: new Date().toISOString(),
    message: 'Multi-AZ instance failover completed',
    region: 'local',
  });
  let result: RdsEventResult;
  try {
    result = await ctx.rdsEventHandler(event, lambdaContext('switchyard-local-rds-event'));
  } catch (err) {
    watcher.stop();
    ctx.rebuild(primary, standby);
    throw new FailoverError(500, 'EVENT_FAILED', `node ${standby.name} was promoted, but the failover handler failed: ${(err as Error).message}; the scheduled reconcile will retry`);
  }
  const eventDeliveredAt = Date.now();
  const switchedAt = await withTimeout(watcher.switchedAt, SWITCH_WATCH_MS, () => watcher.stop());
  watcher.stop();
  const appliedAt = await waitApplied(ctx, result.configVersion);
  ctx.rebuild(primary, standby);

  const outcome = result.clusters.find((c) => c.clusterId === clusterId);
  const timeline: FailoverTimeline = {
    clusterId,
    from: ref(primary),
    to: ref(standby),
    startedAt: iso(startedAt),
    primaryStoppedAt: iso(primaryStoppedAt),
    promotedAt: iso(promotedAt),
    eventDeliveredAt: iso(eventDeliveredAt),
    event: { id: LOCAL_FAILOVER_EVENT_ID, status: result.status, ...(result.configVersion !== undefined ? { configVersion: result.configVersion } : {}) },
    tenants: tenants.length,
    standbyRebuild: 'started',
  };
  if (outcome) timeline.epoch = outcome.epoch;
  if (switchedAt !== undefined) timeline.poolerSwitchedAt = iso(switchedAt);
  if (appliedAt !== undefined) timeline.poolerAppliedAt = iso(appliedAt);
  if (outcome?.writerChanged) await recordPhases(ctx.adapters.clusters, clusterId, timeline);
  return timeline;
}

/**
 * Adds the phases only this stack sees to the cluster's failover history record that the handler
 * wrote for this epoch (shared/src/domain/failover-history.ts), so the console's timeline shows
 * the whole failover. Best effort: the failover itself has succeeded either way.
 */
export async function recordPhases(clusters: FailoverContext['adapters']['clusters'], clusterId: string, t: FailoverTimeline): Promise<void> {
  if (t.epoch === undefined) return;
  for (let attempt = 0; attempt < 5; attempt++) {
    const c = await clusters.get(clusterId);
    const failovers = annotateFailover(c?.failovers, t.epoch, {
      startedAt: t.startedAt,
      primaryStoppedAt: t.primaryStoppedAt,
      promotedAt: t.promotedAt,
      poolersSwitchedAt: t.poolerSwitchedAt,
      poolersAppliedAt: t.poolerAppliedAt,
      configVersion: t.event.configVersion,
    });
    if (!c || !failovers) return;
    try {
      await clusters.update(clusterId, c.version, { failovers });
      return;
    } catch (err) {
      if (!(err instanceof VersionConflictError)) return;
    }
  }
}
