// The epoch rule (docs/architecture.md "Cluster"): a cluster's epoch grows by one each time its writer
// changes, and a change carries the time of the event that caused it. An event older than the
// last applied one never moves the cluster (RDS/EventBridge deliver at least once and in no
// guaranteed order), and re-observing the same writer never bumps the epoch — so duplicates and
// the scheduled reconcile are no-ops unless the topology really moved.
import type { Cluster } from './cluster.ts';
import { sameEndpoint, sameEndpoints, type Endpoint } from './common.ts';

/** What a Topology reports; `writer` is null while no member accepts writes (mid-failover). */
export interface ObservedTopology {
  writer: Endpoint | null;
  readers: Endpoint[];
}

export interface WriterChangeResult {
  /** True when the cluster must be written back (and its targets republished). */
  changed: boolean;
  /** The cluster to store: the input object itself when unchanged. */
  cluster: Cluster;
  /** True when the writer moved (epoch bumped); false for a readers-only change. */
  writerChanged: boolean;
}

/**
 * Applies an observed topology to a cluster.
 * - eventTime older than `cluster.lastEventTime` → unchanged (late event).
 * - no writer observed → unchanged (never publish "no writer"; the next event or reconcile will see one).
 * - writer differs → epoch + 1, writer/readers replaced, lastEventTime = eventTime.
 * - same writer, readers differ → readers replaced, lastEventTime = eventTime, epoch unchanged.
 * - otherwise unchanged.
 * Pure: does not touch `version`/`updatedAt` (the store does).
 */
export function applyWriterChange(cluster: Cluster, observed: ObservedTopology, eventTime: string | Date): WriterChangeResult {
  const unchanged: WriterChangeResult = { changed: false, cluster, writerChanged: false };
  const eventMs = typeof eventTime === 'string' ? Date.parse(eventTime) : eventTime.getTime();
  if (Number.isNaN(eventMs)) throw new RangeError(`invalid eventTime: ${String(eventTime)}`);
  const lastMs = Date.parse(cluster.lastEventTime);
  if (eventMs < lastMs) return unchanged;
  if (!observed.writer) return unchanged;
  const writerChanged = !sameEndpoint(cluster.writer, observed.writer);
  const readersChanged = !sameEndpoints(cluster.readers, observed.readers);
  if (!writerChanged && !readersChanged) return unchanged;
  return {
    changed: true,
    writerChanged,
    cluster: {
      ...cluster,
      writer: { ...observed.writer },
      readers: observed.readers.map((r) => ({ ...r })),
      epoch: writerChanged ? cluster.epoch + 1 : cluster.epoch,
      lastEventTime: new Date(eventMs).toISOString(),
    },
  };
}
