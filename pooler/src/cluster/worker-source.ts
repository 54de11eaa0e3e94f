// A worker's config source: the machine's source (file, local, aws), with every load turned into
// this worker's configuration (worker-config.ts) — the initial load, SIGHUP/RELOAD, the version
// poll and target refreshes alike, so a reload can never undo the split or the node id.
import type { PoolerHeartbeatInput } from '../../../shared/src/domain/heartbeat.ts';
import type { NodeLeaseStore } from '../../../shared/src/ports/store.ts';
import type { ConfigSource, SourceKind, SourceLoad } from '../config/sources/types.ts';
import { workerConfig } from './worker-config.ts';
import type { WorkerPlan } from './worker-plan.ts';

export class WorkerSource implements ConfigSource {
  readonly kind: SourceKind;
  readonly #inner: ConfigSource;
  readonly #plan: WorkerPlan;
  publishedVersion?: () => Promise<number>;
  refreshTargets?: (tenantId: string) => Promise<boolean>;
  routing?: () => Promise<SourceLoad>;
  watch?: (changed: (reason: string) => void) => void;
  putHeartbeat?: (heartbeat: PoolerHeartbeatInput) => Promise<void>;
  readonly nodeLeases?: NodeLeaseStore;

  constructor(inner: ConfigSource, plan: WorkerPlan) {
    this.kind = inner.kind;
    this.#inner = inner;
    this.#plan = plan;
    // Only what the inner source has: the controller decides what to run by what exists.
    if (inner.publishedVersion) this.publishedVersion = () => inner.publishedVersion!();
    if (inner.refreshTargets) this.refreshTargets = (id) => inner.refreshTargets!(id);
    if (inner.routing) this.routing = async () => this.#map(await inner.routing!());
    if (inner.watch) this.watch = (changed) => inner.watch!(changed);
    if (inner.putHeartbeat) this.putHeartbeat = (hb) => inner.putHeartbeat!(hb);
    if (inner.nodeLeases) this.nodeLeases = inner.nodeLeases;
  }

  async load(): Promise<SourceLoad> {
    return this.#map(await this.#inner.load());
  }

  #map(load: SourceLoad): SourceLoad {
    return { ...load, config: workerConfig(load.config, this.#plan) };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
