// A "started" event of a planned switchover or failover (shared/src/domain/rds-events.ts, phase
// `started`): mark the cluster switching and publish the mark with its targets, so every pooler
// holds new transactions of its tenants until the "completed" event (sync-cluster.ts, endSwitch)
// or its own switchover_timeout. The decision (late, duplicate, stale events) is
// domain/switchover.ts's; the store's optimistic lock settles two events racing for one cluster.
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { VersionConflictError } from '../../shared/src/domain/errors.ts';
import { switchingToStart } from '../../shared/src/domain/switchover.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import type { Logger } from '../lib/logger.ts';

export interface MarkOutcome {
  clusterId: string;
  /** The mark was stored and published now (the caller bumps the config version and pushes). */
  published: boolean;
  since?: string;
  /** The cluster as stored after the attempt (the mark included when set). */
  cluster: Cluster;
}

const MAX_ATTEMPTS = 5;

export async function markSwitching(
  adapters: Pick<Adapters, 'clusters' | 'config'>,
  initial: Cluster,
  eventTime: Date,
  cause: string,
  log: Logger,
  now: Date = new Date(),
): Promise<MarkOutcome> {
  const clusterId = initial.clusterId;
  let cluster = initial;
  for (let attempt = 1; ; attempt++) {
    const switching = switchingToStart(cluster, eventTime, cause, now);
    if (switching === undefined) {
      log.info({ clusterId, eventTime: eventTime.toISOString(), held: cluster.switching ?? undefined }, 'switchover start ignored (late, stale or already marked)');
      return { clusterId, published: false, cluster };
    }
    try {
      cluster = await adapters.clusters.update(clusterId, cluster.version, { switching });
      break;
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      const fresh = await adapters.clusters.get(clusterId);
      if (!fresh) return { clusterId, published: false, cluster };
      cluster = fresh;
    }
  }
  // Same epoch: publishClusterTargets accepts it (it refuses only a lower one).
  const published = await adapters.config.publishClusterTargets(clusterId, clusterTargetsOf(cluster));
  log.info({ clusterId, switching: cluster.switching, epoch: cluster.epoch, published }, 'cluster marked switching: poolers hold new transactions');
  return { clusterId, published, since: cluster.switching!.since, cluster };
}
