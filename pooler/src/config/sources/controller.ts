// Drives a ConfigSource for a running Pooler:
// - full reloads: reload() is the one entry point of every reload — SIGHUP (main.ts; a pushed
//   config version is a SIGHUP too), the admin console's RELOAD (pooler.requestReload), the
//   supervisor's `reload` message to a worker (cluster/worker.ts), source watches, the version
//   poll (docs/architecture.md, "A reload");
// - a jittered poll of the published config version (local/aws), reloading when it DIFFERS from
//   the applied one (ports/config-channel.ts: versions are unique but may briefly go down) — the
//   safety net for a lost push (docs/architecture.md, "Where state lives on AWS");
// - target refreshes when a pool doubts its target (writer check, refused connects, 25006);
// - a periodic heartbeat with the applied version and pool figures (local/aws);
// - a reload when a password rotation's grace period ends.
// Every change to the pooler goes through one queue, so loads never interleave. A failed load
// keeps the current snapshot and is logged; the next trigger tries again.
import { hostname } from 'node:os';
import type { PoolerHeartbeatInput, PoolFigures } from '../../../../shared/src/domain/heartbeat.ts';
import type { Logger } from '../../log.ts';
import type { Pooler } from '../../pooler.ts';
import { heartbeatStatements } from '../../stats/heartbeat-statements.ts';
import type { ConfigSource, SourceLoad } from './types.ts';

export interface SourceControllerOptions {
  log: Logger;
  /** Version poll interval, ms, uniformly jittered between the two (default 10–20 s). 0 disables polling. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Heartbeat interval, ms (default 15 s); 0 disables heartbeats. */
  heartbeatMs?: number;
  /** Stable id in heartbeats (default `<hostname>-<port>`). */
  poolerId?: string;
  instanceId?: string;
}

/** DynamoDB items are at most 400 KB: report the busiest pools only. */
export const MAX_HEARTBEAT_POOLS = 1000;

export class SourceController {
  readonly pooler: Pooler;
  readonly source: ConfigSource;
  /** Milliseconds the last full load took: reading the source, then swapping the snapshot. */
  lastLoadMs = 0;
  lastSwapMs = 0;
  readonly #o: SourceControllerOptions;
  readonly #log: Logger;
  #queue: Promise<unknown> = Promise.resolve();
  #queuedReload: Promise<void> | undefined;
  #queuedRefresh: Promise<void> | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #staleTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(pooler: Pooler, source: ConfigSource, initial: SourceLoad, opts: SourceControllerOptions) {
    this.pooler = pooler;
    this.source = source;
    pooler.appliedConfigVersion = initial.version;
    this.#o = opts;
    this.#log = opts.log.child({ source: source.kind });
    this.#scheduleStale(initial.staleAt);
  }

  /**
   * The published version of the configuration applied last (local/aws): kept by the pooler, which
   * shows it in the metric switchyard_applied_config_version and SHOW CONFIG's applied_config_version.
   */
  get appliedConfigVersion(): number | undefined {
    return this.pooler.appliedConfigVersion;
  }

  /** Hooks the pooler (RELOAD, target doubts) and starts the watch, the poll and the heartbeat. */
  start(): void {
    this.pooler.reloadHandler = (reason) => this.reload(reason);
    this.pooler.targetSuspectHandler = (tenantId, reason) => {
      this.refresh(tenantId, reason).catch(() => undefined);
    };
    this.source.watch?.((reason) => {
      this.reload(reason).catch(() => undefined);
    });
    if (this.source.publishedVersion !== undefined && (this.#o.pollMaxMs ?? 1) > 0) this.#schedulePoll();
    if (this.source.putHeartbeat !== undefined && (this.#o.heartbeatMs ?? 1) > 0) {
      this.#heartbeatTimer = setInterval(() => void this.heartbeat().catch(() => undefined), this.#o.heartbeatMs ?? 15_000);
      this.#heartbeatTimer.unref();
      void this.heartbeat().catch(() => undefined);
    }
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(op);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Loads everything from the source and swaps the snapshot. Requests arriving while one is
   * queued (not yet started) share it. Rejects — keeping the current snapshot — when the source
   * cannot be read or its content is invalid.
   */
  reload(reason: string): Promise<void> {
    if (this.#queuedReload !== undefined) return this.#queuedReload;
    const p = this.#enqueue(async () => {
      this.#queuedReload = undefined;
      if (this.#stopped) return;
      const t0 = performance.now();
      let loaded: SourceLoad;
      try {
        loaded = await this.source.load();
      } catch (err) {
        this.#log.error({ reason, err: (err as Error).message }, 'config source failed; keeping the current configuration');
        throw err;
      }
      const t1 = performance.now();
      this.#apply(loaded, reason);
      this.lastLoadMs = t1 - t0;
      this.lastSwapMs = performance.now() - t1;
      this.#log.info(
        { reason, version: loaded.version, tenants: loaded.config.tenants.length, loadMs: Math.round(this.lastLoadMs), swapMs: Math.round(this.lastSwapMs) },
        'configuration loaded from source',
      );
    });
    this.#queuedReload = p;
    return p;
  }

  #apply(loaded: SourceLoad, reason: string): void {
    try {
      this.pooler.reload(loaded.config);
    } catch (err) {
      this.#log.error({ reason, err: (err as Error).message }, 'invalid configuration from source; keeping the current configuration');
      throw err;
    }
    if (loaded.version !== undefined) this.pooler.appliedConfigVersion = loaded.version;
    this.#scheduleStale(loaded.staleAt);
  }

  /** One version check: reload when the published version differs from the applied one. */
  async poll(): Promise<void> {
    if (this.source.publishedVersion === undefined) return;
    let published: number;
    try {
      published = await this.source.publishedVersion();
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot read the published config version');
      return;
    }
    if (published !== this.appliedConfigVersion) {
      this.#log.info({ published, applied: this.appliedConfigVersion }, 'published config version differs; reloading');
      await this.reload('version poll').catch(() => undefined);
    }
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    const min = this.#o.pollMinMs ?? 10_000;
    const max = Math.max(min, this.#o.pollMaxMs ?? 20_000);
    // Jitter spreads a fleet's polls so they do not hit SSM in step.
    this.#pollTimer = setTimeout(() => {
      void this.poll().finally(() => this.#schedulePoll());
    }, min + Math.random() * (max - min));
    this.#pollTimer.unref();
  }

  #scheduleStale(at: number | undefined): void {
    clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
    // A time already past would reload in a loop: the source reports only future ends.
    if (at === undefined || at <= Date.now() || this.#stopped) return;
    // setTimeout holds 32-bit delays; a far-off end is re-checked by the next load anyway.
    const delay = Math.min(at - Date.now() + 50, 2 ** 31 - 1);
    this.#staleTimer = setTimeout(() => void this.reload('rotation grace period ended').catch(() => undefined), delay);
    this.#staleTimer.unref();
  }

  /**
   * A pool of `tenantId` doubts its target: ask the source for fresher targets and, when they
   * moved, apply the source's routing. The look itself runs outside the queue (the source
   * coalesces and throttles it per destination, so a thousand doubting pools cost one look); only
   * applying is queued, and the routing is built when it is applied, so it never undoes a full
   * reload that ran in between.
   */
  async refresh(tenantId: string, reason: string): Promise<void> {
    const source = this.source;
    if (source.refreshTargets === undefined || source.routing === undefined || this.#stopped) return;
    let changed: boolean;
    try {
      changed = await source.refreshTargets(tenantId);
    } catch (err) {
      this.#log.warn({ tenant: tenantId, reason, err: (err as Error).message }, 'target refresh failed; keeping the current targets');
      throw err;
    }
    if (!changed) {
      this.#log.debug({ tenant: tenantId, reason }, 'target refresh found nothing new');
      return;
    }
    // A queued full reload or refresh (not started yet) will build from the same state.
    if (this.#queuedReload !== undefined) return this.#queuedReload;
    if (this.#queuedRefresh !== undefined) return this.#queuedRefresh;
    const p = this.#enqueue(async () => {
      this.#queuedRefresh = undefined;
      if (this.#stopped) return;
      this.#apply(await source.routing!(), `target refresh (${reason})`);
      this.#log.info({ tenant: tenantId, reason }, 'targets refreshed');
    });
    this.#queuedRefresh = p;
    return p;
  }

  /** Writes one heartbeat: the applied version, per-tenant pool figures and statement shapes. */
  async heartbeat(): Promise<void> {
    if (this.source.putHeartbeat === undefined) return;
    try {
      await this.source.putHeartbeat(this.heartbeatOf(new Date()));
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot write the heartbeat');
      throw err;
    }
  }

  heartbeatOf(now: Date): PoolerHeartbeatInput {
    const clients = new Map<string, number>();
    for (const c of this.pooler.clientList()) {
      const id = c.route?.id;
      if (id !== undefined) clients.set(id, (clients.get(id) ?? 0) + 1);
    }
    const figures: Array<[string, PoolFigures]> = this.pooler.poolStats().map((s) => [
      s.tenantId,
      { clientsActive: clients.get(s.tenantId) ?? 0, clientsWaiting: s.clientsWaiting, serversActive: s.serversActive, serversIdle: s.serversIdle },
    ]);
    const byId = this.pooler.snapshot().byId;
    const load = (f: PoolFigures): number => f.clientsActive + f.serversActive + f.serversIdle;
    if (figures.length > MAX_HEARTBEAT_POOLS) figures.sort((a, b) => load(b[1]) - load(a[1])).length = MAX_HEARTBEAT_POOLS;
    return {
      poolerId: this.#o.poolerId ?? defaultPoolerId(this.pooler.port),
      ...(this.#o.instanceId !== undefined ? { instanceId: this.#o.instanceId } : {}),
      appliedConfigVersion: this.appliedConfigVersion ?? 0,
      lastSeen: now.toISOString(),
      pools: Object.fromEntries(figures),
      statements: heartbeatStatements(this.pooler.tenantLatency(), (id) => byId.has(id)),
      statsSince: this.pooler.latencySince,
    };
  }

  /** Stops timers and the watch, detaches from the pooler, waits for a running load, closes the source. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#staleTimer);
    this.pooler.reloadHandler = undefined;
    this.pooler.targetSuspectHandler = undefined;
    await this.#queue;
    await this.source.close();
  }
}

/** `<hostname>-<port>`, squeezed into the heartbeat's id alphabet ([A-Za-z0-9._:-], 128 chars). */
export function defaultPoolerId(port: number): string {
  const id = `${hostname()}-${port}`.replace(/[^A-Za-z0-9._:-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (id || `pooler-${port}`).slice(0, 128);
}
