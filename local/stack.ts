// The whole system on one machine (`switchyard start`): two PostgreSQL nodes (primary + streaming
// standby), the control API (the Lambda handlers behind a loopback HTTP server), the local
// adapters from shared/ on one state directory, the pooler as a child process reading that state,
// and — as on AWS — the scheduled reconcile every minute. Local-only routes: GET /status and
// POST /clusters/{id}/failover.
//
// Start order: stale processes of a previous run are cleaned up, PostgreSQL, the API, the cluster
// registered through the API itself (first start) or reconciled (restart), then the pooler.
// Stop order: the pooler (drains), the API, PostgreSQL (primary first); pid files go last.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { makeHandler as makeRdsEventHandler } from '../functions/failover/rds-event.ts';
import { makeHandler as makeReconcileHandler } from '../functions/failover/reconcile.ts';
import { depsWith, type Deps } from '../functions/lib/deps.ts';
import { HttpError } from '../functions/lib/http-errors.ts';
import { apiHandler } from '../functions/lib/http.ts';
import { createPgConnect } from '../functions/lib/pg-target.ts';
import { tenantIdParam } from '../functions/lib/schemas.ts';
import { loadTenant } from '../functions/lib/tenants.ts';
import { lambdaContext, scheduledEvent } from '../functions/lib/lambda-events.ts';
import { clusterView } from '../functions/lib/views.ts';
import { createScramVerifier } from '../shared/src/auth/verifier.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import { readLivePid, readPidFile, removePidFile, writePidFile } from '../shared/src/local/pid-file.ts';
import { writeFileAtomic } from '../shared/src/local/atomic-file.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { startApiServer, type ApiLambdaHandler, type ApiServer } from './api-server.ts';
import { apiTokenPath, ensureApiToken } from './api-token.ts';
import { ClusterNodes, type Progress } from './cluster-nodes.ts';
import { consoleFiles } from './console-static.ts';
import { failoverLocalCluster, type FailoverContext, type FailoverTimeline, type RdsEventLambda } from './failover.ts';
import { drainTimeoutOf, switchoverLocalCluster, type SwitchoverTimeline } from './switchover.ts';
import { scrapePoolStats } from './pool-stats.ts';
import { ensureLayout, stateLayout, untraversableAncestor, type StateLayout } from './layout.ts';
import { createFileLogger } from './log.ts';
import { LOCALHOST, type NodeInfo, type PgNode } from './nodes.ts';
import type { PortName, StackOptions } from './options.ts';
import { isOurs, terminate } from './pids.ts';
import { PoolerConsole, type PoolRow } from './pooler-observer.ts';
import { ADMIN_USER, isStackPooler, POOLER_ID, reachableHost, startPoolerChild, type PoolerChild } from './pooler-process.ts';
import { apiRoutes } from './routes.ts';
import type { Route } from './router.ts';

export const LOCAL_CLUSTER_ID = 'local';
/** The RDS-shaped identity of the local cluster: events name it as SourceIdentifier. */
export const LOCAL_INSTANCE_IDENTIFIER = 'switchyard-local';
export const RECONCILE_INTERVAL_MS = 60_000;

export class StackError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StackError';
    this.code = code;
  }
}

/** `<stateDir>/local.json`: what must stay the same across restarts. */
const localFileSchema = z.object({
  clusterId: z.string(),
  nodes: z.object({ a: z.object({ port: z.number().int() }), b: z.object({ port: z.number().int() }) }),
});
type LocalFile = z.infer<typeof localFileSchema>;

/** `<stateDir>/stack.json`: where the running stack listens (read by the CLI and the demo). */
export interface StackInfo {
  pid: number;
  stateDir: string;
  startedAt: string;
  api: string;
  /** The API's bearer token is in this file (mode 0600); never in stack.json itself. */
  apiTokenFile: string;
  pooler: { host: string; port: number; pid: number };
  metrics: string;
  adminConsole: { database: string; user: string; passwordFile: string };
  clusterId: string;
  nodes: { name: string; host: string; port: number }[];
  logs: { api: string; pooler: string };
  /** The demo tenant created on the first start: its psql line (password in demo.password). */
  demo?: { tenantId: string; psql: string };
}

export interface LocalStatus {
  stateDir: string;
  startedAt: string;
  api: string;
  configVersion: number;
  pooler: { host: string; port: number; pid: number; running: boolean; metrics: string; appliedConfigVersion?: number };
  nodes: NodeInfo[];
  clusters: ReturnType<typeof clusterView>[];
  pools?: PoolRow[];
  poolsError?: string;
  clients: number;
}

const DEMO_TENANT = 'demo';

/** A generated secret in the state directory, created 0600 (and set back to 0600 if widened). */
function readSecret(file: string): string {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return readFileSync(file, 'utf8').trim();
  }
  const s = randomBytes(24).toString('base64url');
  writeFileSync(file, s + '\n', { mode: 0o600 });
  return s;
}

function portFree(port: number, host = LOCALHOST): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

const PORT_WHAT: Record<PortName, string> = {
  primary: 'PostgreSQL node a (--pg-port)',
  standby: 'PostgreSQL node b (--standby-port)',
  api: 'the control API (--api-port)',
  pooler: 'the pooler (--pooler-port)',
  metrics: 'the pooler metrics (--metrics-port)',
};

export class LocalStack {
  readonly options: StackOptions;
  readonly layout: StateLayout;
  #log: Logger | undefined;
  #adapters: Adapters | undefined;
  #deps: Deps | undefined;
  #nodes: ClusterNodes | undefined;
  #api: ApiServer | undefined;
  #pooler: PoolerChild | undefined;
  #console: PoolerConsole | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #rdsEvent: RdsEventLambda | undefined;
  #failing: Promise<unknown> | undefined;
  #rebuilds = new Set<Promise<void>>();
  #startedAt = new Date();
  #stopping: Promise<void> | undefined;
  #ownsPid = false;
  /** Called when the pooler exits on its own (not through stop()). */
  onPoolerExit: ((code: number | null) => void) | undefined;

  constructor(options: StackOptions) {
    this.options = options;
    this.layout = stateLayout(options.stateDir);
  }

  get info(): StackInfo {
    const p = this.#pooler!;
    return {
      pid: process.pid,
      stateDir: this.layout.dir,
      startedAt: this.#startedAt.toISOString(),
      api: this.#api!.url,
      apiTokenFile: apiTokenPath(this.layout.dir),
      pooler: { host: p.host, port: p.port, pid: p.pid },
      metrics: `http://${LOCALHOST}:${p.metricsPort}/metrics`,
      adminConsole: { database: 'switchyard', user: ADMIN_USER, passwordFile: this.layout.adminPasswordFile },
      clusterId: LOCAL_CLUSTER_ID,
      nodes: this.#nodes!.nodes.map((n) => ({ name: n.name, host: LOCALHOST, port: n.port })),
      logs: { api: this.layout.apiLog, pooler: this.layout.poolerLog },
      ...(this.#demo !== undefined ? { demo: this.#demo } : {}),
    };
  }

  #demo: { tenantId: string; psql: string } | undefined;
  #token = '';

  /** The API's bearer token (the console URL carries it in its fragment). */
  get apiToken(): string {
    return this.#token;
  }

  /** A request to our own API, as any client makes it: with the token, the body as JSON. */
  #callApi(method: string, path: string, body: unknown): Promise<Response> {
    return fetch(`${this.#api!.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#token}` },
      body: JSON.stringify(body),
    });
  }

  /**
   * On the very first start (no tenant at all), creates a tenant "demo" through the API — the
   * same call as `switchyard tenants create demo` — so there is something to connect to at once.
   * Its password is kept in <stateDir>/demo.password (mode 0600) and the psql line is printed on
   * every start while the tenant exists.
   */
  async #ensureDemoTenant(progress: Progress): Promise<void> {
    const file = join(this.layout.dir, 'demo.password');
    const tenants = await this.#adapters!.tenants.list({ limit: 1 });
    if (tenants.items.length === 0 && !existsSync(file)) {
      progress('creating the demo tenant "demo" through the API');
      const res = await this.#callApi('POST', '/tenants', { tenantId: DEMO_TENANT, client: { database: DEMO_TENANT, user: DEMO_TENANT }, destination: { clusterId: LOCAL_CLUSTER_ID }, provision: true });
      const body = (await res.json().catch(() => ({}))) as { password?: string };
      if (res.status !== 201 || body.password === undefined) {
        this.#log?.warn({ status: res.status }, 'creating the demo tenant failed');
        return;
      }
      writeFileSync(file, body.password + '\n', { mode: 0o600 });
    }
    if (!existsSync(file) || (await this.#adapters!.tenants.get(DEMO_TENANT)) === undefined) return;
    chmodSync(file, 0o600);
    const password = readFileSync(file, 'utf8').trim();
    const host = reachableHost(this.options.poolerHost);
    this.#demo = {
      tenantId: DEMO_TENANT,
      psql: `psql "postgresql://${DEMO_TENANT}:${encodeURIComponent(password)}@${host}:${this.options.ports.pooler}/${DEMO_TENANT}?sslmode=disable"`,
    };
  }

  /** Something was started (or claimed) that stop() must undo. */
  get touched(): boolean {
    return this.#ownsPid;
  }

  get nodes(): ClusterNodes {
    if (!this.#nodes) throw new StackError('NOT_STARTED', 'the stack is not started');
    return this.#nodes;
  }

  /** Refuses to run twice on one state directory; cleans up what a crashed run left behind. */
  async #claimStateDir(progress: Progress): Promise<void> {
    const l = this.layout;
    const other = readPidFile(l.stackPidFile);
    if (other !== undefined && other !== process.pid && isOurs(other, ['switchyard', 'start'])) {
      throw new StackError('ALREADY_RUNNING', `Switchyard is already running on ${l.dir} (pid ${other}); stop it with Ctrl-C in its terminal or \`kill ${other}\``);
    }
    writePidFile(l.stackPidFile);
    this.#ownsPid = true;
    // Only the very process that wrote the file (its pid may be anyone's after a crash), or, for
    // a file without its start time, a process whose arguments are exactly our pooler's.
    const written = readPidFile(l.poolerPidFile);
    const pooler = readLivePid(l.poolerPidFile) ?? (written !== undefined && isStackPooler(written, l) ? written : undefined);
    if (pooler !== undefined) {
      progress(`stopping the pooler left running by a previous run (pid ${pooler})`);
      await terminate(pooler, 10_000);
    }
    rmSync(l.poolerPidFile, { force: true });
    rmSync(l.stackFile, { force: true });
  }

  #readLocalFile(): LocalFile {
    const o = this.options;
    const l = this.layout;
    if (!existsSync(l.localFile)) {
      const fresh: LocalFile = { clusterId: LOCAL_CLUSTER_ID, nodes: { a: { port: o.ports.primary }, b: { port: o.ports.standby } } };
      writeFileSync(l.localFile, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o644 });
      return fresh;
    }
    const saved = localFileSchema.parse(JSON.parse(readFileSync(l.localFile, 'utf8')));
    const clash = (['primary', 'standby'] as const).filter((p) => o.explicit.has(p) && o.ports[p] !== (p === 'primary' ? saved.nodes.a.port : saved.nodes.b.port));
    if (clash.length > 0) {
      throw new StackError(
        'PORTS_FIXED',
        `the PostgreSQL nodes in ${l.dir} were created on ports ${saved.nodes.a.port} (a) and ${saved.nodes.b.port} (b), and the standby follows its primary by port; start without --pg-port/--standby-port, or use another --state-dir`,
      );
    }
    return saved;
  }

  async #checkPorts(nodePorts: { a: number; b: number }): Promise<void> {
    const wanted: [PortName, number][] = [
      ['primary', nodePorts.a],
      ['standby', nodePorts.b],
      ['api', this.options.ports.api],
      ['pooler', this.options.ports.pooler],
      ['metrics', this.options.ports.metrics],
    ];
    for (const [name, port] of wanted) {
      if (!(await portFree(port, name === 'pooler' ? this.options.poolerHost : LOCALHOST))) throw new StackError('PORT_IN_USE', `port ${port} for ${PORT_WHAT[name]} is already in use; pick another one`);
    }
  }

  async start(progress: Progress): Promise<StackInfo> {
    const o = this.options;
    const l = this.layout;
    const blocked = untraversableAncestor(l.dir);
    if (blocked !== undefined) {
      throw new StackError(
        'STATE_DIR_UNREACHABLE',
        `PostgreSQL runs as the postgres OS user (initdb refuses root), and that user cannot enter ${blocked}; choose a --state-dir it can reach (e.g. under /var/lib or /tmp), or \`chmod o+x ${blocked}\``,
      );
    }
    ensureLayout(l);
    await this.#claimStateDir(progress);
    const saved = this.#readLocalFile();
    const nodePorts = { a: saved.nodes.a.port, b: saved.nodes.b.port };
    const superuserPassword = readSecret(l.superuserPasswordFile);
    const adminPassword = readSecret(l.adminPasswordFile);
    this.#token = ensureApiToken(l.dir);

    const log = (this.#log = createFileLogger(l.apiLog, o.logLevel));
    const adapters = (this.#adapters = await createLocalAdapters(l.dir));
    const deps = (this.#deps = depsWith(adapters, { log, pg: createPgConnect({ ssl: 'disable' }) }));
    this.#rdsEvent = makeRdsEventHandler(deps);

    const nodes = (this.#nodes = new ClusterNodes(l, nodePorts, superuserPassword));
    await nodes.stopLeftovers(progress);
    await this.#checkPorts(nodePorts);
    const known = await adapters.clusters.get(saved.clusterId);
    const primary = await nodes.start(progress, known?.writer);

    progress(`starting the control API on http://127.0.0.1:${o.ports.api}`);
    this.#api = await startApiServer({ host: LOCALHOST, port: o.ports.api, routes: this.#routes(deps), log, token: this.#token, staticFiles: consoleFiles() });

    if (!known) {
      progress(`registering cluster "${saved.clusterId}" through the API`);
      await this.#registerCluster(saved.clusterId, primary, superuserPassword);
    } else {
      // The writer may have moved while we were stopped: what the scheduled reconcile does.
      await this.reconcile();
    }

    progress(`starting the pooler on 127.0.0.1:${o.ports.pooler}`);
    this.#pooler = await startPoolerChild(l, {
      host: o.poolerHost,
      port: o.ports.pooler,
      metricsPort: o.ports.metrics,
      adminVerifier: createScramVerifier(adminPassword),
      logLevel: o.logLevel,
    });
    void this.#pooler.exited.then(({ code }) => {
      if (!this.#stopping) this.onPoolerExit?.(code);
    });
    this.#console = new PoolerConsole(reachableHost(o.poolerHost), o.ports.pooler, adminPassword);
    this.#reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), RECONCILE_INTERVAL_MS);
    this.#reconcileTimer.unref();
    await this.#ensureDemoTenant(progress);
    const info = this.info;
    // 0600: it names the admin console and the demo tenant's password (psql line). Written to a
    // new file and renamed, so a stack.json left with a wider mode does not keep that mode.
    await writeFileAtomic(l.stackFile, JSON.stringify(info, null, 2) + '\n', 0o600);
    log.info({ api: info.api, pooler: info.pooler, nodes: info.nodes }, 'local stack started');
    return info;
  }

  async #registerCluster(clusterId: string, primary: PgNode, superuserPassword: string): Promise<void> {
    const nodes = this.nodes.nodes;
    const res = await this.#callApi('POST', '/clusters', {
      clusterId,
      kind: 'rds-instance',
      rds: { instanceIdentifier: LOCAL_INSTANCE_IDENTIFIER },
      // Given rather than discovered: POST /clusters probes a new cluster without credentials.
      writer: primary.endpoint,
      readers: [this.nodes.other(primary).endpoint],
      members: nodes.map((n) => n.endpoint),
      admin: { user: 'postgres', password: superuserPassword },
    });
    if (res.status !== 201) throw new StackError('REGISTER_FAILED', `registering cluster ${clusterId} failed: HTTP ${res.status} ${await res.text()}`);
  }

  /** The scheduled reconcile (functions/failover/reconcile.ts), as EventBridge runs it every minute on AWS. */
  async reconcile(): Promise<void> {
    if (this.#failing || this.#rebuilds.size > 0 || this.#stopping) return;
    const handler = makeReconcileHandler(this.#deps!);
    await handler(scheduledEvent('arn:aws:events:us-east-1:123456789012:rule/switchyard-local-reconcile'), lambdaContext('switchyard-local-reconcile')).catch((err: unknown) => {
      this.#log?.warn({ err }, 'reconcile failed');
    });
  }

  #routes(deps: Deps): Route<ApiLambdaHandler>[] {
    const status = apiHandler(deps, async () => ({ status: 200, body: await this.status() }));
    // A failover or a planned switchover, one at a time.
    const exclusive = (run: (id: string, body: unknown) => Promise<FailoverTimeline>) =>
      apiHandler(deps, async (req) => {
        const id = req.pathParameters.id ?? '';
        if (this.#stopping) throw new HttpError(503, 'STOPPING', 'the local stack is stopping');
        if (this.#failing) throw new HttpError(409, 'FAILOVER_IN_PROGRESS', 'a failover is already running');
        const p = run(id, req.body);
        this.#failing = p;
        try {
          return { status: 200, body: await p };
        } finally {
          this.#failing = undefined;
        }
      });
    const failover = exclusive((id) => this.failover(id));
    const switchover = exclusive(async (id, body) => this.switchover(id, drainTimeoutOf(body)));
    const poolStats = apiHandler(deps, async (req) => {
      const id = tenantIdParam(req.pathParameters.id);
      await loadTenant(deps.adapters, id);
      let stats;
      try {
        stats = await scrapePoolStats(`http://${LOCALHOST}:${this.#pooler!.metricsPort}/metrics`, id);
      } catch (err) {
        throw new HttpError(503, 'POOLER_UNAVAILABLE', `cannot read the pooler's metrics: ${(err as Error).message}`);
      }
      if (!stats) throw new HttpError(404, 'NO_POOL', `the pooler has no pool for tenant ${id} (not applied yet, or removed)`);
      return { status: 200, body: stats, headers: { 'cache-control': 'no-store' } };
    });
    return [
      ...apiRoutes(deps),
      { routeKey: 'GET /status', handler: status },
      { routeKey: 'GET /tenants/{id}/pool-stats', handler: poolStats },
      { routeKey: 'POST /clusters/{id}/failover', handler: failover },
      { routeKey: 'POST /clusters/{id}/switchover', handler: switchover },
    ];
  }

  #failoverContext(): FailoverContext {
    return {
      adapters: this.#adapters!,
      nodes: this.nodes,
      clusterId: LOCAL_CLUSTER_ID,
      rdsEventHandler: this.#rdsEvent!,
      console: this.#console,
      appliedConfigVersion: async () => this.#console?.appliedConfigVersion(),
      rebuild: (oldPrimary, newPrimary) => this.#rebuild(oldPrimary, newPrimary),
    };
  }

  failover(clusterId: string): Promise<FailoverTimeline> {
    return failoverLocalCluster(this.#failoverContext(), clusterId);
  }

  /** A planned switchover with no client error (local/switchover.ts). */
  switchover(clusterId: string, drainTimeoutMs?: number): Promise<SwitchoverTimeline> {
    return switchoverLocalCluster(this.#failoverContext(), clusterId, drainTimeoutMs !== undefined ? { drainTimeoutMs } : {});
  }

  #rebuild(oldPrimary: PgNode, newPrimary: PgNode): void {
    const p: Promise<void> = oldPrimary
      .rebuildAsStandbyOf(newPrimary)
      .then(async () => {
        this.#log?.info({ node: oldPrimary.name, of: newPrimary.name }, 'old primary rebuilt as the new standby');
        this.#rebuilds.delete(p);
        await this.reconcile(); // the cluster's readers now include it again
      })
      .catch((err: unknown) => this.#log?.error({ err, node: oldPrimary.name }, 'rebuilding the old primary as a standby failed'))
      .finally(() => this.#rebuilds.delete(p));
    this.#rebuilds.add(p);
  }

  async status(): Promise<LocalStatus> {
    const a = this.#adapters!;
    const p = this.#pooler!;
    const [configVersion, clusters, nodes, heartbeats, fromConsole] = await Promise.all([
      a.config.getConfigVersion(),
      a.clusters.list(),
      this.nodes.info(),
      a.heartbeats.list(),
      // The pooler's own answer (SHOW CONFIG); the heartbeat (up to 15 s old) when the console is unreachable.
      this.#console?.appliedConfigVersion().catch(() => undefined),
    ]);
    const fromHeartbeat = heartbeats.find((h) => h.poolerId === POOLER_ID)?.appliedConfigVersion;
    const applied = fromConsole ?? fromHeartbeat;
    const s: LocalStatus = {
      stateDir: this.layout.dir,
      startedAt: this.#startedAt.toISOString(),
      api: this.#api!.url,
      configVersion,
      pooler: { host: p.host, port: p.port, pid: p.pid, running: p.running(), metrics: `http://${LOCALHOST}:${p.metricsPort}/metrics` },
      nodes,
      clusters: clusters.map(clusterView).sort((x, y) => x.clusterId.localeCompare(y.clusterId)),
      clients: 0,
    };
    if (applied !== undefined) s.pooler.appliedConfigVersion = applied;
    try {
      s.pools = await this.#console!.pools();
      s.clients = s.pools.reduce((n, r) => n + r.clientsActive + r.clientsWaiting, 0);
    } catch (err) {
      s.poolsError = (err as Error).message;
    }
    return s;
  }

  /** Stops everything this stack started; `force` skips the drain and uses immediate shutdowns. */
  stop(opts: { force?: boolean; progress?: Progress } = {}): Promise<void> {
    this.#stopping ??= this.#stop(opts.force ?? false, opts.progress ?? (() => undefined));
    return this.#stopping;
  }

  async #stop(force: boolean, progress: Progress): Promise<void> {
    if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
    const errors: unknown[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        progress(`${what} failed: ${(err as Error).message}`);
      }
    };
    if (!force && (this.#failing || this.#rebuilds.size > 0)) {
      progress('waiting for the failover / standby rebuild in progress');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([this.#failing, ...this.#rebuilds]), new Promise((r) => (timer = setTimeout(r, 60_000)))]);
      clearTimeout(timer);
    }
    if (this.#pooler) {
      progress(force ? 'killing the pooler' : 'stopping the pooler (open transactions may finish)');
      await step('stopping the pooler', () => this.#pooler!.stop(force ? 0 : undefined));
    }
    await step('closing the admin console session', async () => this.#console?.close());
    if (this.#api) {
      progress('stopping the control API');
      await step('stopping the control API', () => this.#api!.close());
    }
    if (this.#nodes) {
      progress('stopping PostgreSQL');
      await step('stopping PostgreSQL', () => this.#nodes!.stop(force ? 'immediate' : 'fast'));
    }
    await step('closing the adapters', async () => this.#adapters?.close());
    // Only when this process claimed the directory: a second `start` refused as ALREADY_RUNNING
    // must not remove the running stack's files.
    if (this.#ownsPid) {
      rmSync(this.layout.stackFile, { force: true });
      removePidFile(this.layout.stackPidFile);
    }
    if (errors.length > 0) throw new AggregateError(errors, 'the local stack did not stop cleanly');
  }
}
