// The local and AWS sources: tenants from a TenantStore, destination passwords through the
// SecretBox under { tenantId, clusterId }, each cluster's writer from the ConfigChannel's published
// targets, and the config version from the same channel (ports in shared/src/ports).
//
// Ordering (ports/config-channel.ts): the version is read BEFORE the state, so a change landing
// during a load makes the next poll see a newer version and load again; nothing is missed.
//
// Targets: published targets with a lower epoch than the ones held are ignored (a late writer
// never moves us back) — within one life of the cluster: a cluster deleted and registered again
// under the same id (its createdAt changes) starts again at epoch 0, so what is held for it is
// forgotten. When a pool reports that its target is not the writer and the published
// targets have not moved, a source with a Topology (local) asks the cluster's members itself and
// routes to the observed writer in memory only; the control plane's failover handler remains the
// one that updates the stores. Such an override ends as soon as the control plane publishes a
// newer epoch, or publishes the writer we observed.
//
// Per-tenant problems (a ciphertext that does not open, a cluster without targets) keep that
// tenant's previous routing if it had one, else leave it out; they never block the others.
// Source-wide problems (store, SSM or KMS unreachable) reject the load: the pooler keeps its
// current snapshot.
import type { ClusterTargets } from '../../../../shared/src/domain/cluster-targets.ts';
import { sameEndpoint, type Endpoint } from '../../../../shared/src/domain/common.ts';
import { switchingDeadline } from '../../../../shared/src/domain/switchover.ts';
import type { PoolerHeartbeatInput } from '../../../../shared/src/domain/heartbeat.ts';
import type { Tenant } from '../../../../shared/src/domain/tenant.ts';
import type { Adapters } from '../../../../shared/src/ports/adapters.ts';
import type { BudgetLeaseStore, NodeLeaseStore } from '../../../../shared/src/ports/store.ts';
import { clusterBudgetOf } from '../../../../shared/src/domain/budget.ts';
import type { Logger } from '../../log.ts';
import type { PoolerConfig, TenantConfig } from '../schema.ts';
import { PasswordCache } from './password-cache.ts';
import { graceEndsAt, tenantToConfig } from './tenant-config.ts';
import type { ConfigSource, SourceKind, SourceLoad } from './types.ts';

export interface StoreSourceOptions {
  kind: Exclude<SourceKind, 'file'>;
  adapters: Pick<Adapters, 'tenants' | 'clusters' | 'heartbeats' | 'nodes' | 'budgets' | 'secrets' | 'config' | 'topology'>;
  /** The listener/limits/log settings (re-read on every full load); tenants are replaced. */
  base: () => PoolerConfig;
  log: Logger;
  /** Ask the Topology for the writer when a pool doubts its target and the published targets did not move. */
  useTopology: boolean;
  now?: () => Date;
  /** Concurrent SecretBox decrypts during a load. */
  decryptConcurrency?: number;
  /** Minimum time between two target refreshes of one cluster (default CLUSTER_REFRESH_INTERVAL_MS). */
  clusterRefreshIntervalMs?: number;
  /** Releases the adapters. */
  close?: () => Promise<void>;
}

interface Override {
  writer: Endpoint;
  /** The published epoch when we observed it: a newer published epoch ends the override. */
  epoch: number;
}

/** Page size for listing tenants (the ports' maximum). */
const PAGE = 1000;
/** At most one target refresh per cluster in this many ms (every pool of a cluster doubts at once). */
export const CLUSTER_REFRESH_INTERVAL_MS = 1000;

export class StoreSource implements ConfigSource {
  readonly kind: Exclude<SourceKind, 'file'>;
  readonly #o: StoreSourceOptions;
  readonly #now: () => Date;
  readonly #passwords: PasswordCache;
  #base: PoolerConfig | undefined;
  #tenants: Tenant[] = [];
  #clusterOf = new Map<string, string>();
  #passwordOf = new Map<string, string>();
  readonly #targets = new Map<string, ClusterTargets>();
  /** createdAt of each cluster at the last load: a change means deleted and registered again. */
  #bornAt = new Map<string, string>();
  readonly #overrides = new Map<string, Override>();
  /** Last routing built per tenant: the fallback when a tenant cannot be converted this time. */
  #lastGood = new Map<string, TenantConfig>();
  readonly #refreshing = new Map<string, Promise<boolean>>();
  readonly #refreshedAt = new Map<string, number>();

  get nodeLeases(): NodeLeaseStore {
    return this.#o.adapters.nodes;
  }

  get budgetLeases(): BudgetLeaseStore {
    return this.#o.adapters.budgets;
  }

  /** Each cluster's connection budget at the last load (docs/fleet.md). */
  #clusterBudgets = new Map<string, number>();

  /** The fleet budgets' inputs from the last load: each tenant's cluster and each cluster's budget. */
  budgetInputs(): { clusterOf: ReadonlyMap<string, string>; clusterBudgets: ReadonlyMap<string, number> } {
    return { clusterOf: this.#clusterOf, clusterBudgets: this.#clusterBudgets };
  }

  constructor(opts: StoreSourceOptions) {
    this.kind = opts.kind;
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#passwords = new PasswordCache(opts.adapters.secrets, opts.decryptConcurrency);
  }

  /** SecretBox calls made so far (a reload of unchanged tenants makes none). */
  get decrypts(): number {
    return this.#passwords.decrypts;
  }

  async load(): Promise<SourceLoad> {
    const { adapters } = this.#o;
    const version = await adapters.config.getConfigVersion();
    const base = this.#o.base();
    const tenants = await listAllTenants(adapters);
    // Read before the targets: a cluster re-created in between is noticed at the next load.
    const clusters = await adapters.clusters.list();
    const clusterIds = [...new Set(tenants.flatMap((t) => (t.destination.clusterId === undefined ? [] : [t.destination.clusterId])))];
    const published = await Promise.all(clusterIds.map((id) => adapters.config.getClusterTargets(id)));
    const passwords = await this.#passwords.resolve(tenants);

    // Everything read: commit to the new state.
    this.#base = base;
    // Epochs count within one cluster's life: DELETE /clusters/{id} and a new POST under the same
    // id start again at 0, so what is held for a cluster that is gone, or was registered again,
    // must not outrank the new one's targets (its tenants would go to the old cluster's server).
    const bornAt = new Map(clusters.map((c) => [c.clusterId, c.createdAt] as const));
    for (const id of new Set([...this.#targets.keys(), ...this.#overrides.keys()])) {
      if (bornAt.get(id) !== this.#bornAt.get(id)) {
        this.#targets.delete(id);
        this.#overrides.delete(id);
        // Nor may a tenant's last routing through it serve as the fallback.
        for (const [tenantId, clusterId] of this.#clusterOf) if (clusterId === id) this.#lastGood.delete(tenantId);
      }
    }
    this.#bornAt = bornAt;
    this.#clusterBudgets = new Map(clusters.map((c) => [c.clusterId, clusterBudgetOf(c).budget] as const));
    clusterIds.forEach((id, i) => {
      const p = published[i];
      if (p !== undefined) this.#acceptTargets(id, p);
    });
    this.#tenants = tenants;
    this.#clusterOf = new Map(tenants.flatMap((t) => (t.destination.clusterId === undefined ? [] : [[t.tenantId, t.destination.clusterId] as const])));
    this.#passwordOf = new Map();
    for (const t of tenants) {
      const pw = passwords.get(t.tenantId);
      if (typeof pw === 'string') this.#passwordOf.set(t.tenantId, pw);
      else this.#o.log.error({ tenant: t.tenantId, err: pw?.message }, 'cannot decrypt the destination password; keeping the tenant’s previous routing if any');
    }
    return { ...this.#build(), version };
  }

  async publishedVersion(): Promise<number> {
    return this.#o.adapters.config.getConfigVersion();
  }

  refreshTargets(tenantId: string): Promise<boolean> {
    const clusterId = this.#clusterOf.get(tenantId);
    // A fixed-host destination has nowhere else to go.
    if (clusterId === undefined || this.#base === undefined) return Promise.resolve(false);
    // Every pool of the cluster notices at once: one look per cluster at a time, and not more
    // often than CLUSTER_REFRESH_INTERVAL_MS (pools keep asking while their target stays wrong).
    let p = this.#refreshing.get(clusterId);
    if (p !== undefined) return p;
    const now = Date.now();
    if (now - (this.#refreshedAt.get(clusterId) ?? -Infinity) < (this.#o.clusterRefreshIntervalMs ?? CLUSTER_REFRESH_INTERVAL_MS)) return Promise.resolve(false);
    this.#refreshedAt.set(clusterId, now);
    p = this.#refreshCluster(clusterId).finally(() => this.#refreshing.delete(clusterId));
    this.#refreshing.set(clusterId, p);
    return p;
  }

  async routing(): Promise<SourceLoad> {
    if (this.#base === undefined) throw new Error('routing() before the first load()');
    return { ...this.#build(), version: undefined };
  }

  async #refreshCluster(clusterId: string): Promise<boolean> {
    const { adapters, log } = this.#o;
    const before = this.#writerOf(clusterId);
    const published = await adapters.config.getClusterTargets(clusterId);
    if (published !== undefined) this.#acceptTargets(clusterId, published);
    let after = this.#writerOf(clusterId);
    if (sameEndpoint(before, after) && this.#o.useTopology) {
      const cluster = await adapters.clusters.get(clusterId);
      if (cluster !== undefined) {
        const held = this.#targets.get(clusterId);
        const observed = await adapters.topology.describe({
          ...cluster,
          writer: after ?? cluster.writer,
          readers: dedupe([...(held?.readers ?? []), ...cluster.readers, ...(after && !sameEndpoint(after, cluster.writer) ? [cluster.writer] : [])]),
        });
        if (observed.writer !== null && !sameEndpoint(observed.writer, after)) {
          this.#overrides.set(clusterId, { writer: { ...observed.writer }, epoch: held?.epoch ?? -1 });
          log.warn({ clusterId, writer: observed.writer, published: held?.writer }, 'the cluster’s writer moved and nothing was published yet: routing to the observed writer');
          after = this.#writerOf(clusterId);
        }
      }
    }
    if (sameEndpoint(before, after)) return false;
    log.info({ clusterId, from: before, to: after }, 'cluster target changed');
    return true;
  }

  async putHeartbeat(heartbeat: PoolerHeartbeatInput): Promise<void> {
    await this.#o.adapters.heartbeats.put(heartbeat);
  }

  async close(): Promise<void> {
    await this.#o.close?.();
  }

  /** Takes published targets unless they are older than the ones held; ends an outdated override. */
  #acceptTargets(clusterId: string, t: ClusterTargets): void {
    const held = this.#targets.get(clusterId);
    if (held !== undefined && t.epoch < held.epoch) {
      this.#o.log.warn({ clusterId, held: held.epoch, published: t.epoch }, 'ignoring published targets with an older epoch');
      return;
    }
    this.#targets.set(clusterId, t);
    const o = this.#overrides.get(clusterId);
    if (o !== undefined && (t.epoch > o.epoch || sameEndpoint(t.writer, o.writer))) this.#overrides.delete(clusterId);
  }

  #writerOf(clusterId: string): Endpoint | undefined {
    return this.#overrides.get(clusterId)?.writer ?? this.#targets.get(clusterId)?.writer;
  }

  /**
   * The end of a planned switchover of the cluster (published `switching`, domain/switchover.ts),
   * bounded by limits.switchover_timeout; undefined when none holds now. Routing to a writer we
   * observed ourselves (an override) means the switch is over for us.
   */
  #switchingUntil(clusterId: string, now: Date): number | undefined {
    const held = this.#targets.get(clusterId)?.switching;
    if (held === undefined || this.#overrides.has(clusterId)) return undefined;
    const until = switchingDeadline(held, this.#base!.limits.switchover_timeout);
    return until > now.getTime() ? until : undefined;
  }

  #build(): Omit<SourceLoad, 'version'> {
    const now = this.#now();
    const tenants: TenantConfig[] = [];
    const lastGood = new Map<string, TenantConfig>();
    let staleAt: number | undefined;
    const writerOf = (id: string): Endpoint | undefined => this.#writerOf(id);
    const switchingUntil = (id: string): number | undefined => this.#switchingUntil(id, now);
    // The published readers, minus the writer we route to (an override may have promoted one).
    const readersOf = (id: string): Endpoint[] => (this.#targets.get(id)?.readers ?? []).filter((r) => !sameEndpoint(r, writerOf(id)));
    for (const t of this.#tenants) {
      let c: TenantConfig | undefined;
      const password = this.#passwordOf.get(t.tenantId);
      if (password !== undefined) {
        try {
          c = tenantToConfig(t, { password, writerOf, readersOf, now, tls: this.#base!.target_tls, switchingUntil });
          const ends = graceEndsAt(t, now);
          if (ends !== undefined) staleAt = Math.min(staleAt ?? ends, ends);
        } catch (err) {
          this.#o.log.error({ tenant: t.tenantId, err: (err as Error).message }, 'cannot route tenant; keeping its previous routing if any');
        }
      }
      c ??= this.#lastGood.get(t.tenantId);
      if (c === undefined) continue;
      tenants.push(c);
      lastGood.set(t.tenantId, c);
    }
    this.#lastGood = lastGood;
    return { config: { ...this.#base!, tenants }, staleAt };
  }
}

async function listAllTenants(adapters: Pick<Adapters, 'tenants'>): Promise<Tenant[]> {
  const out: Tenant[] = [];
  let cursor: string | undefined;
  do {
    const page = await adapters.tenants.list({ limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

function dedupe(endpoints: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return endpoints.filter((e) => {
    const k = `${e.host}:${e.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
