// Brings one cluster's stored writer (and its published targets) in line with what the Topology
// port observes now. Shared by the RDS event handler and the scheduled reconcile.
//
// - The store is the authority: applyWriterChange (shared/src/domain/writer-change.ts) decides,
//   so a late or duplicated event never moves a cluster back and re-observing the same writer
//   never bumps the epoch. A concurrent update (two events for one failover) loses the optimistic
//   lock; we re-read and re-apply the same observation.
// - Then the published targets are compared with the stored cluster and republished when they lag
//   (a crash between the store write and the publish is repaired by the next event or reconcile).
// - The caller bumps the config version and pushes a reload once for all clusters it touched.
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { sameEndpoint, sameEndpoints } from '../../shared/src/domain/common.ts';
import { VersionConflictError } from '../../shared/src/domain/errors.ts';
import { appendFailover } from '../../shared/src/domain/failover-history.ts';
import { endsSwitching, isStale, sameSwitching } from '../../shared/src/domain/switchover.ts';
import { applyWriterChange, type ObservedTopology, type WriterChangeResult } from '../../shared/src/domain/writer-change.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import type { Logger } from '../lib/logger.ts';

export interface SyncOptions {
  /**
   * Multi-AZ instance failover / blue/green switchover: a different server now sits behind the
   * SAME endpoint name, so host:port look unchanged. Treat the event as a writer change (new epoch)
   * when it is newer than the last applied one — strictly newer, so a duplicate of the same event
   * does not bump twice. See RdsEventInfo.sameEndpointSwitch.
   */
  forceNewEpoch?: boolean;
  /**
   * Recorded with a writer change in the cluster's failover history (shared/src/domain/
   * failover-history.ts): the RDS event id (default `reconcile`) and when it was received
   * (default: now).
   */
  cause?: string;
  receivedAt?: Date;
  /**
   * The event ends a planned switchover (a "completed" or "aborted" event): clear the cluster's
   * `switching` mark (domain/switchover.ts) unless the mark is newer than the event. A writer
   * change seen with any event (or the reconcile) clears it too: the new writer is confirmed.
   */
  endSwitch?: boolean;
}

export interface SyncOutcome {
  clusterId: string;
  /** The stored cluster was updated. */
  changed: boolean;
  writerChanged: boolean;
  /** New targets were published (the caller must bump the config version and push). */
  published: boolean;
  epoch: number;
  writer: { host: string; port: number };
  /** The cluster is still marked switching after this sync. */
  switching?: boolean;
}

const MAX_ATTEMPTS = 5;

/** Whether the switching mark goes with this change: ended by the event, confirmed by a new writer, or stale. */
function clearsSwitching(cluster: Cluster, r: WriterChangeResult, eventTime: Date, opts: SyncOptions): boolean {
  const held = cluster.switching;
  if (!held) return false;
  return ((opts.endSwitch === true || r.writerChanged) && endsSwitching(held, eventTime)) || isStale(held, opts.receivedAt ?? eventTime);
}

function decide(cluster: Cluster, observed: ObservedTopology, eventTime: Date, opts: SyncOptions): WriterChangeResult {
  const r = decideWriter(cluster, observed, eventTime, opts);
  if (!clearsSwitching(cluster, r, eventTime, opts)) return r;
  return { changed: true, writerChanged: r.writerChanged, cluster: { ...r.cluster, switching: null } };
}

function decideWriter(cluster: Cluster, observed: ObservedTopology, eventTime: Date, opts: SyncOptions): WriterChangeResult {
  const r = applyWriterChange(cluster, observed, eventTime);
  if (r.writerChanged || !opts.forceNewEpoch || !observed.writer) return r;
  if (eventTime.getTime() <= Date.parse(cluster.lastEventTime)) return r;
  return {
    changed: true,
    writerChanged: true,
    cluster: {
      ...cluster,
      writer: { ...observed.writer },
      readers: observed.readers.map((e) => ({ ...e })),
      epoch: cluster.epoch + 1,
      lastEventTime: eventTime.toISOString(),
    },
  };
}

export async function syncCluster(
  adapters: Pick<Adapters, 'clusters' | 'topology' | 'config'>,
  initial: Cluster,
  eventTime: Date,
  log: Logger,
  opts: SyncOptions = {},
): Promise<SyncOutcome> {
  const clusterId = initial.clusterId;
  const observed = await adapters.topology.describe(initial);
  let cluster = initial;
  let changed = false;
  let writerChanged = false;
  for (let attempt = 1; ; attempt++) {
    const r = decide(cluster, observed, eventTime, opts);
    if (!r.changed) break;
    try {
      const failovers = r.writerChanged
        ? appendFailover(cluster.failovers, {
            epoch: r.cluster.epoch,
            from: { ...cluster.writer },
            to: { ...r.cluster.writer },
            cause: opts.cause ?? 'reconcile',
            eventTime: r.cluster.lastEventTime,
            receivedAt: (opts.receivedAt ?? new Date()).toISOString(),
            appliedAt: new Date().toISOString(),
          })
        : undefined;
      cluster = await adapters.clusters.update(clusterId, cluster.version, {
        writer: r.cluster.writer,
        readers: r.cluster.readers,
        epoch: r.cluster.epoch,
        lastEventTime: r.cluster.lastEventTime,
        ...(failovers ? { failovers } : {}),
        ...(r.cluster.switching === null && cluster.switching ? { switching: null } : {}),
      });
      changed = true;
      writerChanged = r.writerChanged;
      break;
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      const fresh = await adapters.clusters.get(clusterId);
      if (!fresh) {
        log.warn({ clusterId }, 'cluster deleted while syncing');
        return { clusterId, changed: false, writerChanged: false, published: false, epoch: cluster.epoch, writer: cluster.writer };
      }
      cluster = fresh;
    }
  }
  if (changed) {
    log.info({ clusterId, epoch: cluster.epoch, writer: cluster.writer, writerChanged, eventTime: eventTime.toISOString() }, 'cluster topology updated');
  } else if (!observed.writer) {
    log.warn({ clusterId }, 'no writer observed (failover in progress?); keeping the stored one');
  }

  // Republish when the published targets lag behind the store (or were never published).
  const published = await adapters.config.getClusterTargets(clusterId);
  const lagging =
    !published ||
    published.epoch < cluster.epoch ||
    (published.epoch === cluster.epoch &&
      (!sameEndpoint(published.writer, cluster.writer) || !sameEndpoints(published.readers, cluster.readers) || !sameSwitching(published.switching, cluster.switching)));
  let didPublish = false;
  if (lagging) {
    didPublish = await adapters.config.publishClusterTargets(clusterId, clusterTargetsOf(cluster));
    if (didPublish && !changed) log.warn({ clusterId, epoch: cluster.epoch }, 'published targets lagged behind the store; republished');
  }
  return { clusterId, changed, writerChanged, published: didPublish, epoch: cluster.epoch, writer: { ...cluster.writer }, switching: !!cluster.switching };
}
