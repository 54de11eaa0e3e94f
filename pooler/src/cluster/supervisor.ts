// The supervisor of `switchyard pooler --workers N` (docs/workers.md): forks N worker processes that
// each run the pooler on the same client port (SO_REUSEPORT: the kernel spreads connections; the
// supervisor is never in a client's path), and makes the machine behave as one pooler:
//
// - reload (SIGHUP, the console's RELOAD through a worker): a typed `reload` to every worker, whose
//   source controller re-reads the source (docs/architecture.md, "A reload");
// - drain (SIGTERM / console SHUTDOWN): every worker drains; the supervisor exits when all have;
// - a worker that exits unasked is restarted in its slot (same node id), with a backoff when it
//   keeps dying young; it replays the machine's PAUSE state before it accepts clients;
// - the admin console: a worker's session asks here to run a command on every worker (`fanout`);
// - one /metrics, /healthz, /readyz for the machine (machine-metrics.ts); ready while every worker is;
// - CancelRequests that reached the wrong worker come back through a loopback relay (cancel-relay.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mergeAction, type WorkerAnswer } from '../admin/fan-out.ts';
import type { PoolerConfig } from '../config/schema.ts';
import { nodeOf } from '../frontend/cancel-keys.ts';
import type { Logger } from '../log.ts';
import { MetricsHttpServer } from '../stats/http.ts';
import { CancelRelay } from './cancel-relay.ts';
import { MachineMetrics } from './machine-metrics.ts';
import { isFromWorker, type DecryptResult, type FanOutScope, type FromWorker, type MetricsJson, type ToWorker } from './messages.ts';
import { PauseLog } from './pause-log.ts';
import { PendingRequests } from './pending-requests.ts';
import type { SharedDecrypts } from './secret-relay.ts';
import { workerNodeIds } from './worker-config.ts';
import { encodeWorkerPlan, WORKER_ENV, type WorkerPlan } from './worker-plan.ts';

export interface SupervisorOptions {
  readonly count: number;
  /** The machine's settings (as the single process reads them at start): listen, metrics, limits, cluster. */
  readonly settings: PoolerConfig;
  readonly log: Logger;
  /** What a worker runs: the same script and arguments as this process; SWITCHYARD_WORKER makes it a worker. */
  readonly script: string;
  readonly args: readonly string[];
  readonly execArgv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Decrypts destination passwords for every worker (`--source aws`; secret-relay.ts). */
  readonly decrypts?: SharedDecrypts;
  /** `cluster.node_id: auto`: the node ids leased for the slots (auto-node.ts). */
  readonly nodeIds?: readonly number[];
}

type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

interface Worker {
  readonly slot: number;
  readonly nodeId: number;
  readonly child: ChildProcess;
  readonly startedAt: number;
  state: WorkerState;
  /** The reload count when it was forked: a reload during its start is applied once it is ready. */
  readonly reloadsAtFork: number;
  lastMetrics: MetricsJson | undefined;
  /** Requests to this worker waiting for their answer. */
  readonly pending: PendingRequests<FromWorker>;
}

/** A worker that lived less than this before exiting counts as dying young (backoff). */
const YOUNG_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;
/** SHOW and metrics answers: a worker that does not answer in this time is reported as failed. */
const ANSWER_TIMEOUT_MS = 10_000;
/** Pooler.cancel gives up on an unreachable server after 5 s; a little more here. */
const CANCEL_TIMEOUT_MS = 6_000;
/**
 * Requests one worker has outstanding at once: relayed cancels (at most MAX_RELAY_CONNECTIONS),
 * scrapes, console commands and reloads. Beyond it a request fails as a worker that does not answer.
 */
const MAX_OUTSTANDING_PER_WORKER = 4096;

export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #log: Logger;
  readonly #nodeIds: number[];
  readonly #workers = new Set<Worker>();
  readonly #slots: (Worker | undefined)[];
  readonly #youngDeaths: number[];
  readonly #restartTimers = new Set<NodeJS.Timeout>();
  readonly #pauses = new PauseLog();
  readonly #metrics: MachineMetrics;
  #relay: CancelRelay | undefined;
  #http: MetricsHttpServer | undefined;
  #port: number | undefined;
  #reloads = 0;
  #restarts = 0;
  #started = false;
  #stopping = false;
  /** Settles start(): a worker became ready / exited before it was ready. */
  readonly #startWaiters = new Set<{ check: () => void }>();
  #startFailure: Error | undefined;
  #stopped: Promise<number> | undefined;
  #allExited: (() => void) | undefined;
  #done: (code: number) => void = () => undefined;
  readonly #whenStopped = new Promise<number>((resolve) => (this.#done = resolve));

  constructor(o: SupervisorOptions) {
    this.#o = o;
    this.#log = o.log;
    this.#nodeIds = workerNodeIds(o.settings, o.count, o.nodeIds);
    this.#slots = Array.from({ length: o.count }, () => undefined);
    this.#youngDeaths = Array.from({ length: o.count }, () => 0);
    this.#port = o.settings.listen.port === 0 ? undefined : o.settings.listen.port;
    this.#metrics = new MachineMetrics({
      workerStates: () => {
        const m = new Map<string, number>();
        for (const w of this.#workers) m.set(w.state, (m.get(w.state) ?? 0) + 1);
        return m;
      },
      restarts: () => this.#restarts,
      cancelsRelayed: () => this.#relay?.relayed ?? 0,
    });
  }

  /** The machine's client port (once the first worker listens). */
  get port(): number {
    return this.#port ?? 0;
  }

  get metricsPort(): number {
    return this.#http?.port ?? 0;
  }

  /** Every slot has a serving worker and the machine is not draining: what /readyz reports. */
  get ready(): boolean {
    return this.#started && !this.#stopping && this.#slots.every((w) => w?.state === 'ready');
  }

  /** Worker process ids by slot (tests, logs). */
  workerPids(): (number | undefined)[] {
    return this.#slots.map((w) => w?.child.pid);
  }

  /**
   * Starts the relay, the metrics endpoint and the workers (the first alone, so it can resolve a
   * configured port 0 for the others); resolves when all serve. Rejects if one exits first (a bad
   * configuration fails every worker alike): call stop() then.
   */
  async start(): Promise<void> {
    // SO_REUSEPORT would let the workers join a port that another pooler's workers (same user)
    // already listen on, silently sharing its clients: make sure nobody listens there first.
    if (this.#port !== undefined) await assertPortFree(this.#o.settings.listen.host, this.#port);
    this.#relay = await CancelRelay.start((pid, key) => this.deliverCancel(pid, key), this.#log);
    const m = this.#o.settings.metrics;
    if (m !== undefined) {
      const metrics = this.#metrics;
      this.#http = await MetricsHttpServer.start({
        host: m.host,
        port: m.port,
        registry: { contentType: metrics.contentType, metrics: () => this.#metricsText() },
        ready: () => this.ready,
        log: this.#log,
      });
    }
    this.#fork(1);
    await this.#waitStart(() => this.#port !== undefined);
    for (let slot = 2; slot <= this.#o.count; slot++) this.#fork(slot);
    await this.#waitStart(() => this.#slots.every((w) => w?.state === 'ready'));
    this.#started = true;
    this.#log.info({ workers: this.#o.count, port: this.#port, workerPids: this.workerPids() }, 'all workers serving');
  }

  #waitStart(done: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          if (this.#startFailure !== undefined) reject(this.#startFailure);
          else if (done()) resolve();
          else return;
          this.#startWaiters.delete(waiter);
        },
      };
      this.#startWaiters.add(waiter);
      waiter.check();
    });
  }

  #startProgress(): void {
    for (const w of [...this.#startWaiters]) w.check();
  }

  #fork(slot: number): Worker {
    const m = this.#o.settings.metrics;
    const plan: WorkerPlan = {
      slot,
      count: this.#o.count,
      listenPort: this.#port,
      relayPort: this.#relay!.port,
      metrics: m !== undefined,
      metricsHost: m?.host,
      metricsPort: this.#http?.port,
      replay: this.#pauses.replay(),
      nodeIds: this.#o.nodeIds,
    };
    const child = fork(this.#o.script, [...this.#o.args], {
      env: { ...(this.#o.env ?? process.env), [WORKER_ENV]: encodeWorkerPlan(plan) },
      execArgv: [...(this.#o.execArgv ?? process.execArgv)],
      // Structured clone over the pipe: metric values such as +Inf survive (JSON would turn them into null).
      serialization: 'advanced',
    });
    const w: Worker = {
      slot,
      nodeId: this.#nodeIds[slot - 1]!,
      child,
      startedAt: Date.now(),
      state: 'starting',
      reloadsAtFork: this.#reloads,
      lastMetrics: undefined,
      pending: new PendingRequests(MAX_OUTSTANDING_PER_WORKER),
    };
    this.#workers.add(w);
    this.#slots[slot - 1] = w;
    child.on('message', (msg: unknown) => {
      if (isFromWorker(msg)) this.#onMessage(w, msg);
    });
    child.on('error', (err) => this.#log.error({ worker: slot, err: err.message }, 'worker process error'));
    child.once('exit', (code, signal) => this.#onExit(w, code, signal));
    this.#log.info({ worker: slot, workerPid: child.pid, node: w.nodeId }, 'worker started');
    return w;
  }

  #send(w: Worker, m: ToWorker): boolean {
    if (w.state === 'exited' || !w.child.connected) return false;
    try {
      return w.child.send(m);
    } catch {
      return false;
    }
  }

  /** Sends a request and waits for the answer with the same id (undefined if the worker exits or times out). */
  #ask(w: Worker, make: (id: number) => ToWorker, timeoutMs: number | undefined): Promise<FromWorker | undefined> {
    return w.pending.ask((id) => this.#send(w, make(id)), timeoutMs).catch(() => undefined);
  }

  async #runOn(w: Worker, command: string, timeoutMs: number | undefined): Promise<WorkerAnswer> {
    const r = await this.#ask(w, (id) => ({ t: 'run', id, command }), timeoutMs);
    return r?.t === 'ran' ? r.answer : this.#noAnswer(w);
  }

  /** One worker's reload (its SourceController.reload): the RELOAD reply, or the error that kept its configuration. */
  async #reloadOn(w: Worker, reason: string): Promise<WorkerAnswer> {
    const r = await this.#ask(w, (id) => ({ t: 'reload', id, reason }), undefined);
    return r?.t === 'reloaded' ? r.answer : this.#noAnswer(w);
  }

  #noAnswer(w: Worker): WorkerAnswer {
    const why = w.state === 'exited' ? 'exited' : 'did not answer';
    return { worker: w.slot, ok: false, error: { code: undefined, message: `worker ${w.slot} ${why}`, hint: undefined } };
  }

  /** Runs a console command on the workers in `scope`, in slot order. */
  async fanOut(command: string, scope: FanOutScope): Promise<WorkerAnswer[]> {
    // SHOW answers at once; PAUSE legitimately waits for transactions to end, as on one process.
    const timeout = scope === 'all' ? ANSWER_TIMEOUT_MS : undefined;
    return Promise.all(this.#targets(scope).map((w) => this.#runOn(w, command, timeout)));
  }

  /** The workers a command in `scope` runs on, in slot order. */
  #targets(scope: FanOutScope): Worker[] {
    return [...this.#workers].filter((w) => w.state === 'ready' || (scope === 'all' && w.state === 'draining')).sort((a, b) => a.slot - b.slot);
  }

  #onMessage(w: Worker, m: FromWorker): void {
    switch (m.t) {
      case 'listening':
        this.#port ??= m.port;
        this.#startProgress();
        return;
      case 'ready':
        if (w.state !== 'starting') return;
        w.state = 'ready';
        this.#log.info({ worker: w.slot, workerPid: w.child.pid }, 'worker serving');
        if (this.#reloads > w.reloadsAtFork) void this.#reloadOne(w, 'a reload arrived while the worker started');
        this.#startProgress();
        return;
      case 'draining':
        if (w.state !== 'exited') w.state = 'draining';
        return;
      case 'ran':
      case 'reloaded':
      case 'metrics':
      case 'cancelled':
        w.pending.answer(m.id, m);
        return;
      case 'fanout':
        void this.fanOut(m.command, m.scope).then((answers) => {
          this.#recordPause(m.command, answers);
          this.#send(w, { t: 'fanned', id: m.id, answers });
        });
        return;
      case 'reloadAll':
        void this.reload(m.reason).then((answers) => this.#send(w, { t: 'fanned', id: m.id, answers }));
        return;
      case 'shutdown':
        this.#log.info({ worker: w.slot }, 'admin console SHUTDOWN: draining every worker');
        void this.stop();
        return;
      case 'decrypt': {
        const answer = this.#o.decrypts?.decrypt(m.ciphertext, m.context) ?? Promise.resolve<DecryptResult>({ ok: false, secret: false, message: 'this supervisor decrypts nothing (not --source aws)' });
        void answer.then((result) => this.#send(w, { t: 'decrypted', id: m.id, result }));
        return;
      }
    }
  }

  /** A PAUSE / KILL / RESUME that the workers applied becomes part of the state new workers replay. */
  #recordPause(command: string, answers: readonly WorkerAnswer[]): void {
    const verb = /^\s*(\S+)/.exec(command)?.[1]?.toUpperCase();
    if (verb !== 'PAUSE' && verb !== 'KILL' && verb !== 'RESUME') return;
    try {
      mergeAction(verb, answers);
    } catch {
      return;
    }
    this.#pauses.applied(command);
  }

  #onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const was = w.state;
    w.state = 'exited';
    w.pending.failAll();
    this.#workers.delete(w);
    if (this.#slots[w.slot - 1] === w) this.#slots[w.slot - 1] = undefined;
    if (w.lastMetrics !== undefined) void this.#metrics.retire(w.lastMetrics);
    if (this.#stopping) {
      this.#log.info({ worker: w.slot, workerPid: w.child.pid, code, signal }, 'worker exited');
      if (this.#workers.size === 0) this.#allExited?.();
      return;
    }
    if (!this.#started) {
      this.#startFailure ??= new Error(`worker ${w.slot} exited (${signal ?? `code ${code}`}) before it was serving; see its log above`);
      this.#startProgress();
      return;
    }
    const lived = Date.now() - w.startedAt;
    const i = w.slot - 1;
    this.#youngDeaths[i] = lived < YOUNG_MS || was === 'starting' ? (this.#youngDeaths[i] ?? 0) + 1 : 0;
    const young = this.#youngDeaths[i] ?? 0;
    const delay = young === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (young - 1));
    this.#restarts++;
    this.#log.error({ worker: w.slot, workerPid: w.child.pid, code, signal, livedMs: lived, restartInMs: delay }, 'worker exited unexpectedly; restarting it');
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (!this.#stopping) this.#fork(w.slot);
    }, delay);
    this.#restartTimers.add(timer);
  }

  /** Resolves false when no worker has the key's node; else once the worker(s) delivered it. */
  async deliverCancel(processId: number, secretKey: number): Promise<boolean> {
    const node = nodeOf(processId);
    // One process per slot, so normally one target; the worker checks the secret.
    const targets = [...this.#workers].filter((w) => w.nodeId === node && w.state !== 'starting');
    if (targets.length === 0) return false;
    await Promise.all(targets.map((w) => this.#ask(w, (id) => ({ t: 'cancel', id, processId, secretKey }), CANCEL_TIMEOUT_MS)));
    return true;
  }

  async #metricsText(): Promise<string> {
    const live = [...this.#workers].filter((w) => w.state === 'ready' || w.state === 'draining');
    const got = await Promise.all(
      live.map(async (w) => {
        const r = await this.#ask(w, (id) => ({ t: 'metrics', id }), ANSWER_TIMEOUT_MS);
        if (r?.t !== 'metrics') {
          this.#log.warn({ worker: w.slot }, 'worker did not answer the metrics scrape; left out');
          return undefined;
        }
        w.lastMetrics = r.metrics;
        return r.metrics;
      }),
    );
    return this.#metrics.text(got.filter((m): m is MetricsJson => m !== undefined));
  }

  async #reloadOne(w: Worker, reason: string): Promise<void> {
    const a = await this.#reloadOn(w, reason);
    if (!a.ok) this.#log.error({ worker: w.slot, reason, err: a.error.message }, 'worker reload failed');
  }

  /**
   * The machine's reload (SIGHUP, the console's RELOAD): every serving worker's source controller
   * re-reads the source; a starting one does once it serves. Resolves with each worker's answer.
   */
  async reload(reason: string): Promise<WorkerAnswer[]> {
    this.#reloads++;
    const answers = await Promise.all(this.#targets('serving').map((w) => this.#reloadOn(w, reason)));
    const failed = answers.filter((a) => !a.ok);
    for (const a of failed) if (!a.ok) this.#log.error({ worker: a.worker, reason, err: a.error.message }, 'worker reload failed; it keeps its configuration');
    if (failed.length === 0) this.#log.info({ reason, workers: answers.length }, 'every worker reloaded');
    return answers;
  }

  /**
   * Drains the machine: /readyz turns 503, every worker drains (stops accepting, lets transactions
   * finish within limits.shutdown_timeout) and exits; then the relay and metrics endpoint close.
   * A worker still there well after shutdown_timeout is killed. Resolves with the exit code.
   */
  stop(): Promise<number> {
    this.#stopped ??= this.#stop().then((code) => {
      this.#done(code);
      return code;
    });
    return this.#stopped;
  }

  /** Resolves with the exit code once the machine has stopped (SIGTERM, or the console's SHUTDOWN). */
  whenStopped(): Promise<number> {
    return this.#whenStopped;
  }

  async #stop(): Promise<number> {
    this.#stopping = true;
    for (const t of this.#restartTimers) clearTimeout(t);
    this.#restartTimers.clear();
    this.#startFailure ??= new Error('stopped while starting');
    this.#startProgress();
    this.#log.info({ workers: this.#workers.size }, 'draining every worker');
    const allExited = new Promise<void>((resolve) => {
      this.#allExited = resolve;
      if (this.#workers.size === 0) resolve();
    });
    for (const w of this.#workers) {
      // A starting worker has no clients and no handler for `stop` yet: SIGTERM ends it.
      if (w.state === 'starting' || !this.#send(w, { t: 'stop' })) w.child.kill('SIGTERM');
    }
    let forced = false;
    const bound = this.#o.settings.limits.shutdown_timeout * 1000 + 10_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allExited,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          forced = this.#workers.size > 0;
          for (const w of this.#workers) {
            this.#log.error({ worker: w.slot, workerPid: w.child.pid }, 'worker still running after shutdown_timeout; killing it');
            w.child.kill('SIGKILL');
          }
          resolve();
        }, bound);
      }),
    ]);
    clearTimeout(timer);
    if (forced) await allExited;
    await Promise.all([this.#relay?.close(), this.#http?.close()]);
    this.#log.info('all workers exited');
    return forced ? 1 : 0;
  }
}

/** Binds `host:port` without SO_REUSEPORT and lets go: throws when something listens there already. */
function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`${host}:${port} is in use (another pooler?)`) : err),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
