// How changes reach the poolers. AWS: SSM parameters + SSM SendCommand; local: a JSON file + SIGHUP.
//
// Ordering contract for writers (the handlers): write the store first, then publish targets /
// bump the version, then pushReload. A pooler that sees a new version and reloads therefore
// reads state at least as new as the change behind that version.
//
// Config versions are unique per bump (never reused) but, under concurrent bumps, the published
// value may briefly go down. Poolers must therefore reload when the published version DIFFERS
// from the one they applied (not only when it is greater).
import type { ClusterTargets } from '../domain/cluster-targets.ts';

export interface ReloadPushResult {
  /** SSM command id on AWS; absent locally or when nothing was signalled. */
  commandId?: string;
  /** Local mode: whether a running pooler was signalled. */
  signalled?: boolean;
}

export interface ConfigChannel {
  /**
   * Publishes a cluster's targets. Returns false (and writes nothing) when the published targets
   * already carry a higher epoch — a late writer never moves poolers back.
   */
  publishClusterTargets(clusterId: string, targets: ClusterTargets): Promise<boolean>;
  getClusterTargets(clusterId: string): Promise<ClusterTargets | undefined>;
  /** Removes a deleted cluster's targets (no error if absent). */
  deleteClusterTargets(clusterId: string): Promise<void>;
  /** Allocates a new, never-reused config version and publishes it; returns it. */
  bumpConfigVersion(): Promise<number>;
  /**
   * Publishes the newest ALLOCATED version when the published one is behind it — a bump that got
   * its number but failed to publish it (SSM throttling) — and returns it; undefined when nothing
   * was behind. The scheduled reconcile calls it, so such a change reaches the poolers within
   * minutes even if nobody changes anything else. Where allocating and publishing are one atomic
   * write (local), nothing can be behind.
   */
  catchUpConfigVersion(): Promise<number | undefined>;
  /** The published config version; 0 before the first bump. */
  getConfigVersion(): Promise<number>;
  /** Asks every pooler to reload now (best effort: poolers also poll the version). */
  pushReload(): Promise<ReloadPushResult>;
}
