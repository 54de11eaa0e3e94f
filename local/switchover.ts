// `clusters switchover <id>` on one machine: a planned switchover with no client error, driven by
// the same RDS-shaped events as on AWS (docs/local.md "Planned switchover"):
//   1. "RDS-EVENT-0013 Multi-AZ instance failover started" to the failover handler: the cluster is
//      marked switching, the mark published with its targets, the pooler reloads and holds new
//      transactions of the cluster's tenants (they queue; docs/deploy.md "Planned switchover");
//   2. open transactions finish (bounded by the drain timeout), the old primary is fenced (stopped
//      once the standby has its WAL) and the standby promoted (switchover-fence.ts);
//   3. "RDS-EVENT-0049 Multi-AZ instance failover completed": the handler stores the new writer with
//      a new epoch and clears the mark; the pooler reloads, retargets and lets the queue go on.
// The pause clients see runs from the pooler applying step 1's config version to it applying step
// 3's (both watched through its admin console). The old primary is then rebuilt as the standby.
import { HttpError } from '../functions/lib/http-errors.ts';
import { lambdaContext, rdsEvent } from '../functions/lib/lambda-events.ts';
import type { RdsEventResult } from '../functions/failover/rds-event.ts';
import {
  FailoverError,
  LOCAL_FAILOVER_EVENT_ID,
  localPair,
  recordPhases,
  SWITCH_WATCH_MS,
  waitApplied,
  watchSwitch,
  withTimeout,
  type FailoverContext,
  type FailoverTimeline,
} from './failover.ts';
import { DEFAULT_DRAIN_TIMEOUT_MS, FenceError, fenceAndPromote, prepareSwitchover, type FenceResult } from './switchover-fence.ts';

/** RDS's "Multi-AZ instance failover started" (shared/src/domain/rds-events.ts, phase started). */
export const LOCAL_SWITCHOVER_START_EVENT_ID = 'RDS-EVENT-0013';
/** Upper bound of the drain timeout a caller may ask for, ms (the pooler's hold is bounded by switchover_timeout anyway). */
export const MAX_DRAIN_TIMEOUT_MS = 120_000;

export interface SwitchoverTimeline extends FailoverTimeline {
  planned: true;
  /** The started event was handled (cluster marked switching, reload pushed). */
  startDeliveredAt: string;
  startEvent: { id: string; status: RdsEventResult['status']; configVersion?: number };
  /** The pooler applied the config version that holds new transactions. */
  poolerPausedAt?: string;
  /** No transaction was open on the old primary any more (or the drain bound ran out). */
  drainedAt: string;
  /** Transactions still open at the drain bound, rolled back when the primary stopped (0 in a clean switchover). */
  openTransactionsCut: number;
  /** The standby had received the old primary's WAL up to its last write. */
  standbyCaughtUpAt: string;
  /** The pooler applied the config version with the new writer: queued clients went on. */
  poolerResumedAt?: string;
  /** poolerResumedAt − poolerPausedAt, ms: the longest a client's new transaction waited. */
  pauseMs?: number;
}

const iso = (t: number): string => new Date(t).toISOString();

export async function switchoverLocalCluster(ctx: FailoverContext, clusterId: string, opts: { drainTimeoutMs?: number } = {}): Promise<SwitchoverTimeline> {
  const drainTimeoutMs = Math.min(opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS, MAX_DRAIN_TIMEOUT_MS);
  const { cluster, primary, standby } = await localPair(ctx, clusterId);
  const tenants = (await ctx.adapters.tenants.listByCluster(clusterId)).filter((t) => t.status === 'active').map((t) => t.tenantId);
  const deliver = async (eventId: string, message: string): Promise<RdsEventResult> =>
    ctx.rdsEventHandler(
      rdsEvent({ eventId, sourceId: cluster.rds.instanceIdentifier, sourceType: 'DB_INSTANCE', date: new Date().toISOString(), message, region: 'local' }),
      lambdaContext('switchyard-local-rds-event'),
    );

  const startedAt = Date.now();
  await prepareSwitchover(primary).catch(() => undefined);
  let start: RdsEventResult;
  try {
    start = await deliver(LOCAL_SWITCHOVER_START_EVENT_ID, 'Multi-AZ instance failover started');
  } catch (err) {
    throw new FailoverError(500, 'EVENT_FAILED', `the failover handler failed on the started event: ${(err as Error).message}; nothing was switched`);
  }
  const startDeliveredAt = Date.now();
  const pausedAt = await waitApplied(ctx, start.configVersion);
  if (pausedAt === undefined && ctx.console !== undefined && start.configVersion !== undefined) {
    // Fencing now would cut the transactions of a pooler that does not hold: give up instead (the
    // completed event clears the mark; the primary never stopped).
    await deliver(LOCAL_FAILOVER_EVENT_ID, 'Multi-AZ instance failover completed').catch(() => undefined);
    throw new FailoverError(503, 'SWITCHOVER_FAILED', `the pooler did not apply the switchover's config version ${start.configVersion} within ${SWITCH_WATCH_MS / 1000} s; nothing was switched (see \`switchyard status\`)`);
  }

  const watcher = watchSwitch(ctx.console, tenants, standby.port);
  let fence: FenceResult;
  try {
    fence = await fenceAndPromote(primary, standby, { drainTimeoutMs });
  } catch (err) {
    watcher.stop();
    const stopped = err instanceof FenceError ? err.primaryStopped : true;
    if (stopped) await primary.start().catch(() => undefined);
    // The completed event clears the mark at once (the writer is the old primary again), rather
    // than leave the pooler holding until its switchover_timeout.
    await deliver(LOCAL_FAILOVER_EVENT_ID, 'Multi-AZ instance failover completed').catch(() => undefined);
    throw new FailoverError(500, 'SWITCHOVER_FAILED', `switchover of cluster ${clusterId} failed: ${(err as Error).message.split('\n')[0]}; node ${primary.name} stays the primary`);
  }

  let done: RdsEventResult;
  try {
    done = await deliver(LOCAL_FAILOVER_EVENT_ID, 'Multi-AZ instance failover completed');
  } catch (err) {
    watcher.stop();
    ctx.rebuild(primary, standby);
    throw new FailoverError(500, 'EVENT_FAILED', `node ${standby.name} was promoted, but the failover handler failed: ${(err as Error).message}; the pooler goes on at its switchover_timeout, the scheduled reconcile retries`);
  }
  const eventDeliveredAt = Date.now();
  const switchedAt = await withTimeout(watcher.switchedAt, SWITCH_WATCH_MS, () => watcher.stop());
  watcher.stop();
  const resumedAt = await waitApplied(ctx, done.configVersion);
  ctx.rebuild(primary, standby);

  const outcome = done.clusters.find((c) => c.clusterId === clusterId);
  const t: SwitchoverTimeline = {
    planned: true,
    clusterId,
    from: { node: primary.name, host: primary.endpoint.host, port: primary.port },
    to: { node: standby.name, host: standby.endpoint.host, port: standby.port },
    startedAt: iso(startedAt),
    startDeliveredAt: iso(startDeliveredAt),
    startEvent: { id: LOCAL_SWITCHOVER_START_EVENT_ID, status: start.status, ...(start.configVersion !== undefined ? { configVersion: start.configVersion } : {}) },
    drainedAt: iso(fence.drainedAt),
    openTransactionsCut: fence.openTransactionsCut,
    primaryStoppedAt: iso(fence.primaryStoppedAt),
    standbyCaughtUpAt: iso(fence.standbyCaughtUpAt),
    promotedAt: iso(fence.promotedAt),
    eventDeliveredAt: iso(eventDeliveredAt),
    event: { id: LOCAL_FAILOVER_EVENT_ID, status: done.status, ...(done.configVersion !== undefined ? { configVersion: done.configVersion } : {}) },
    tenants: tenants.length,
    standbyRebuild: 'started',
  };
  if (outcome) t.epoch = outcome.epoch;
  if (pausedAt !== undefined) t.poolerPausedAt = iso(pausedAt);
  if (switchedAt !== undefined) t.poolerSwitchedAt = iso(switchedAt);
  if (resumedAt !== undefined) {
    t.poolerAppliedAt = iso(resumedAt);
    t.poolerResumedAt = iso(resumedAt);
  }
  if (pausedAt !== undefined && resumedAt !== undefined) t.pauseMs = resumedAt - pausedAt;
  if (outcome?.writerChanged) await recordPhases(ctx.adapters.clusters, clusterId, t);
  return t;
}

/** The drain timeout a request asks for (`drainTimeout`, seconds), or a 400. */
export function drainTimeoutOf(body: unknown): number | undefined {
  if (body === undefined || body === null) return undefined;
  const v = (body as { drainTimeout?: unknown }).drainTimeout;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_DRAIN_TIMEOUT_MS / 1000) {
    throw new HttpError(400, 'INVALID_REQUEST', `drainTimeout must be a number of seconds from 0 to ${MAX_DRAIN_TIMEOUT_MS / 1000}`);
  }
  return v * 1000;
}
