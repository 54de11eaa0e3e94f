// Scheduled every minute: for every RDS-backed or member-probed cluster, compare the Topology with
// the stored writer and repair drift exactly like an event would (event time = now), and republish
// targets that lag behind the store. One config bump + push for the whole run. A lost or filtered
// RDS event therefore delays a failover by at most a minute; it never loses it. It also publishes a
// config version that a bump allocated but could not publish (ConfigChannel.catchUpConfigVersion:
// an API change whose announce failed after its retries), so that change reaches the poolers too.
// Failures of single clusters do not stop the others; the run throws at the end so the Lambda
// Errors metric (and alarms on it) see them.
// Every run also publishes the StalePoolers metric (stale-poolers-metric.ts) as an EMF log line.
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { announceChange, errSummary } from '../lib/announce.ts';
import { defaultDeps } from '../lib/deps.ts';
import { stdoutEmfWriter, type EmfWriter } from '../lib/emf.ts';
import { resolveDeps, type DepsSource } from '../lib/http.ts';
import type { FailoverDeps } from './rds-event.ts';
import { countStalePoolers, stalePoolersEmf } from './stale-poolers-metric.ts';
import { syncCluster, type SyncOutcome } from './sync-cluster.ts';

export interface ReconcileResult {
  checked: number;
  changed: string[];
  failed: string[];
  configVersion?: number;
  clusters: SyncOutcome[];
  /** Live poolers behind the config version, as published (absent if counting them failed). */
  stalePoolers?: number;
}

export interface ReconcileDeps extends FailoverDeps {
  /** The metric's Stage dimension. Default: SWITCHYARD_STAGE (the stacks set it), else 'local'. */
  stage?: string;
  /** Where the EMF line goes. Default: stdout. */
  writeMetric?: EmfWriter;
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const now = deps.now();
  const log = deps.log.child({ job: 'reconcile' });
  const failures: unknown[] = [];
  // First, so it is published even when listing the clusters fails, and measured before this run's
  // own repairs: a bump made below would count every pooler as behind until its next heartbeat.
  let stalePoolers: number | undefined;
  try {
    stalePoolers = await countStalePoolers(deps.adapters, now);
    (deps.writeMetric ?? stdoutEmfWriter)(stalePoolersEmf(deps.stage ?? (process.env.SWITCHYARD_STAGE || 'local'), stalePoolers, now));
  } catch (err) {
    // No datapoint this minute: the alarm counts a missing one as breaching.
    log.error({ err }, 'counting stale poolers failed');
    failures.push(err);
  }
  const clusters = await deps.adapters.clusters.list();
  const outcomes: SyncOutcome[] = [];
  const failed: string[] = [];
  // Sequential: there are few clusters, and it keeps RDS API calls well under throttling limits.
  for (const c of clusters) {
    try {
      outcomes.push(await syncCluster(deps.adapters, c, now, log.child({ clusterId: c.clusterId })));
    } catch (err) {
      log.error({ clusterId: c.clusterId, err }, 'reconcile of cluster failed');
      failures.push(err);
      failed.push(c.clusterId);
    }
  }
  const result: ReconcileResult = { checked: clusters.length, changed: outcomes.filter((o) => o.changed).map((o) => o.clusterId), failed, clusters: outcomes };
  if (stalePoolers !== undefined) result.stalePoolers = stalePoolers;
  let caughtUp: number | undefined;
  try {
    caughtUp = await deps.adapters.config.catchUpConfigVersion();
  } catch (err) {
    log.error({ err }, 'catching up the published config version failed');
    failures.push(err);
  }
  if (outcomes.some((o) => o.published)) {
    // A fresh bump covers a version left behind as well.
    result.configVersion = (await announceChange(deps.adapters, log)).configVersion;
  } else if (caughtUp !== undefined) {
    log.warn({ configVersion: caughtUp }, 'published a config version a failed bump had left behind');
    result.configVersion = caughtUp;
    await deps.adapters.config.pushReload().catch((err: unknown) => log.warn({ err: errSummary(err) }, 'reload push failed; poolers will pick the change up by polling'));
  }
  log.info({ checked: result.checked, changed: result.changed, failed, stalePoolers }, 'reconcile done');
  if (failures.length > 0) throw new AggregateError(failures, `reconcile: ${failures.length} step(s) failed (clusters: ${failed.join(', ') || 'none'})`);
  return result;
}

export function makeHandler(deps: DepsSource<ReconcileDeps>) {
  return middy<ScheduledEvent, ReconcileResult, Error, Context>().handler(async () => reconcile(await resolveDeps(deps)));
}

export const handler = makeHandler(defaultDeps);
