// The protocol fuzzer: a real PostgreSQL, a real pooler process (fuzz tenants in transaction and
// session mode with SCRAM and md5 logins, the admin console, TLS allowed), `lanes` connections
// fuzzing at once (lane.ts) and a canary client on a tenant of its own (canary.ts). It stops after
// `seconds` or `inputs`, then reports: inputs tried and their rate, crashes (the pooler exited),
// error-level log lines, peak RSS against the bound, and the canary's record.
// Run by `npm test` for a bounded time (test/adversarial/protocol-fuzz.test.ts) and for longer by
// `npm run fuzz` (test/fuzz/run.ts). README: test/fuzz/README.md.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { createAdminLogin } from '../helpers/admin.ts';
import { connectPg } from '../helpers/clients.ts';
import { ProtocolClient } from '../helpers/raw-protocol.ts';
import { issueServerCert, makeCa } from '../helpers/tls.ts';
import { createTenant, destinationConn, poolerConfig, type TestTenant } from '../helpers/tenants.ts';
import { Canary, type CanaryReport } from './canary.ts';
import type { Observed } from './conn.ts';
import { runConnection, runLane, type ConnRecord, type Counters, type FuzzTargets, type LaneContext, type Scenario } from './lane.ts';
import { PoolerUnderTest, type Crash } from './monitor.ts';

export interface FuzzOptions {
  /** Seed of the run; each connection's input follows from `<seed>/<lane>/<n>`. */
  seed: string;
  /** Stop after this many seconds of fuzzing (whichever of seconds/inputs comes first). */
  seconds?: number;
  /** Stop after this many inputs (frontend messages sent). */
  inputs?: number;
  /** Connections fuzzing at once. */
  lanes: number;
  /** The pooler's resident memory must stay below this. */
  rssLimitMb: number;
  /** Each canary step must succeed within this. */
  canaryBoundMs: number;
  /** Only these connection seeds (`<seed>/<lane>/<n>`), one after another, instead of lanes. */
  replay?: string[];
  /** Progress lines (every ~10 s). */
  progress?: (line: string) => void;
}

export interface CrashReport extends Crash {
  /** The connections in progress, or ended in the 2 s before, when the pooler died. */
  suspects: { seed: string; scenario: Scenario | undefined }[];
}

export interface FuzzReport {
  seed: string;
  seconds: number;
  inputs: number;
  rate: number;
  connections: number;
  /** Connections that stopped reading their replies. */
  nonReading: number;
  logins: number;
  batches: number;
  bytesOut: number;
  byScenario: Record<string, number>;
  /** Error responses the fuzz connections received, by severity and SQLSTATE. */
  responses: Record<string, number>;
  /** Distinct internal-error messages (SQLSTATE class XX or 58) the fuzz connections received. */
  internalErrors: string[];
  /** Where the fuzz connections waited: count and total ms by `<what>:<outcome>`. */
  waits: Record<string, { n: number; ms: number }>;
  crashes: CrashReport[];
  errorLines: string[];
  badBackendStreams: number;
  rss: { startMb: number; peakMb: number; limitMb: number; samples: number };
  /** Backend crashes of the fuzz tenants' PostgreSQL (its log lines): PostgreSQL's bugs, not the pooler's. */
  postgresCrashes: string[];
  canary: CanaryReport;
  /** Warning lines the pooler logged (not findings: checkout timeouts, lost server connections…). */
  warnings: number;
  /** Those about the canary's tenant (there should be none). */
  canaryWarnings: string[];
  /** Server connections of fuzz tenants terminated, and SIGHUP reloads, during the run. */
  chaos: { terminated: number; reloads: number };
  /** Snapshots taken at the first canary failures (PostgreSQL sessions, the pooler's pools). */
  diagnostics: string[];
  /** Rows in the canary's table: must equal canary.committed when the canary never failed. */
  canaryRows: number;
  driverErrors: string[];
}

interface Environment {
  dir: string;
  /** The fuzz tenants' PostgreSQL. */
  pg: PostgresServer;
  /**
   * The canary's PostgreSQL, a server of its own: fuzz input has crashed PostgreSQL 15's own
   * backends (a segfault restarts every backend of that server), which is no fault of the pooler
   * and must not read as one. What the canary proves is about the pooler process they share.
   */
  canaryPg: PostgresServer;
  pooler: PoolerUnderTest;
  canaryTenant: TestTenant;
  targets: FuzzTargets;
  /** The fuzz tenants' destination roles (never the canary's). */
  fuzzRoles: string[];
}

/** Owns the fuzz tables and bounds every statement of a fuzz role (the fuzzer is not a load test of PostgreSQL). */
async function prepareDestination(pg: PostgresServer, t: TestTenant, table: string): Promise<void> {
  const d = t.destination;
  await pg.psql(`CREATE TABLE ${table}; ALTER TABLE ${table.split(' ')[0]} OWNER TO ${d.user}`, d.database);
  await pg.psql(`ALTER ROLE ${d.user} SET statement_timeout = '3s'; ALTER ROLE ${d.user} SET lock_timeout = '1s'`);
}

async function setUp(maxMessageSize: number): Promise<Environment> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-fuzz-'));
  const pg = await startPostgres();
  const canaryPg = await startPostgres();
  const pool = { size: 8, checkout_timeout: 5 };
  const scram = await createTenant(pg, { id: 'fz-scram', clientAuth: 'scram', pool });
  const md5 = await createTenant(pg, { id: 'fz-md5', clientAuth: 'md5', pool });
  const session = await createTenant(pg, { id: 'fz-session', pool: { ...pool, size: 4, mode: 'session' } });
  const canaryTenant = await createTenant(canaryPg, { id: 'fz-canary', pool: { size: 2, min_idle: 1, checkout_timeout: 5 } });
  for (const t of [scram, md5, session]) await prepareDestination(pg, t, 'fz_copy (a int, b text)');
  await canaryPg.psql(`CREATE TABLE canary_log (n int NOT NULL); ALTER TABLE canary_log OWNER TO ${canaryTenant.destination.user}`, canaryTenant.destination.database);
  const admin = await createAdminLogin(pg, 'fz_admin');
  const ca = makeCa(dir, 'fuzz-ca');
  const cert = issueServerCert(ca, 'fuzz-listener', { dns: ['localhost'], ips: ['127.0.0.1'] });
  const config = poolerConfig([scram.config, md5.config, session.config, canaryTenant.config], {
    log_level: 'warn',
    limits: { max_message_size: maxMessageSize },
    admin: { users: [admin.config] },
  });
  const port = await freePort();
  const pooler = await PoolerUnderTest.start({ ...config, listen: { tls: { mode: 'allow', cert_file: cert.certFile, key_file: cert.keyFile } } }, dir, port);
  const login = (t: TestTenant) => ({ user: t.clientUser, database: t.clientDatabase, password: t.clientPassword });
  const targets: FuzzTargets = {
    host: '127.0.0.1',
    port,
    maxMessageSize,
    scram: login(scram),
    md5: login(md5),
    session: login(session),
    admin: { user: admin.user, database: 'switchyard', password: admin.password },
    tls: true,
  };
  return { dir, pg, canaryPg, pooler, canaryTenant, targets, fuzzRoles: [scram, md5, session].map((t) => t.destination.user) };
}

/** PostgreSQL's sessions by role and state, and SHOW POOLS, as one line. */
async function diagnose(env: Environment): Promise<string> {
  const parts: string[] = [];
  for (const [name, server] of [['fuzz', env.pg], ['canary', env.canaryPg]] as const) {
    try {
      parts.push(
        `pg_stat_activity (${name}): ${await server.psql("SELECT string_agg(format('%s/%s/%s', usename, coalesce(state, '-'), n), ', ') FROM (SELECT usename, state, count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2 ORDER BY 1, 2) s")}`,
      );
    } catch (err) {
      parts.push(`pg_stat_activity (${name}): ${(err as Error).message}`);
    }
  }
  try {
    const c = await ProtocolClient.connect({ host: env.targets.host, port: env.targets.port, ...env.targets.admin });
    try {
      parts.push(`SHOW POOLS: ${JSON.stringify(await c.simple('SHOW POOLS'))}`);
    } finally {
      await c.end();
    }
  } catch (err) {
    parts.push(`SHOW POOLS: ${(err as Error).message}`);
  }
  return parts.join('; ');
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  // The default limit: what a production pooler runs with (config/schema.ts).
  const env = await setUp(256 * 1024 * 1024);
  try {
    return await fuzz(env, opts);
  } finally {
    await env.pooler.stop().catch(() => undefined);
    await env.pg.stop().catch(() => undefined);
    await env.canaryPg.stop().catch(() => undefined);
    rmSync(env.dir, { recursive: true, force: true });
  }
}

async function fuzz(env: Environment, opts: FuzzOptions): Promise<FuzzReport> {
  const { pooler, targets } = env;
  const counters: Counters = { inputs: 0, nonReading: 0, connections: 0, logins: 0, batches: 0, bytesOut: 0, byScenario: new Map() };
  const observed: Observed = { errors: new Map(), internal: new Map(), badBackendStreams: 0, waits: new Map() };
  const recent: ConnRecord[] = [];
  const started = Date.now();
  const deadline = opts.seconds === undefined ? Infinity : started + opts.seconds * 1000;
  let stop = false;
  const ctx: LaneContext = {
    targets,
    counters,
    observed,
    recent,
    keys: [],
    driverErrors: [],
    stopping: () => stop || Date.now() >= deadline || (opts.inputs !== undefined && counters.inputs >= opts.inputs),
    poolerUp: async () => {
      await pooler.whenUp();
      if (!pooler.alive) await new Promise((r) => setTimeout(r, 100));
    },
  };

  pooler.watch = `"tenant":"${env.canaryTenant.id}"`;
  // Which connections were in flight when the pooler died, taken at once (lanes keep going).
  const suspects = new Map<Crash, CrashReport['suspects']>();
  pooler.onCrash = (c) => {
    suspects.set(
      c,
      recent.filter((r) => r.endedAt === undefined || r.endedAt >= c.at - 2000).map((r) => ({ seed: r.seed, scenario: r.scenario })),
    );
  };

  const canary = new Canary(
    { host: targets.host, port: targets.port, database: env.canaryTenant.clientDatabase, user: env.canaryTenant.clientUser, password: env.canaryTenant.clientPassword },
    { boundMs: opts.canaryBoundMs },
  );
  // On the first canary failures: what PostgreSQL's sessions and the pooler's pools looked like.
  const snapshots: string[] = [];
  canary.onFailure = () => {
    if (snapshots.length >= 3) return;
    snapshots.push('(pending)');
    const i = snapshots.length - 1;
    void diagnose(env).then((d) => (snapshots[i] = `${new Date().toISOString()} ${d}`));
  };
  canary.start();

  // Chaos beside the input: a fuzz tenant's server connection terminated every 1.5 s (its client
  // then goes on in the lost-transaction state, or loses its session), a SIGHUP reload every 10 s.
  const chaos = { terminated: 0, reloads: 0 };
  const killer = setInterval(() => {
    void env.pg
      .psql(
        `SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE usename IN (${env.fuzzRoles.map((r) => `'${r}'`).join(', ')}) ORDER BY random() LIMIT 1) s`,
      )
      .then((n) => (chaos.terminated += Number(n) || 0))
      .catch(() => undefined);
  }, 1500);
  const reloader = setInterval(() => {
    if (pooler.alive && process.kill(pooler.pid, 'SIGHUP')) chaos.reloads++;
  }, 10_000);

  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    opts.progress?.(
      `fuzz: ${s.toFixed(0)} s, ${counters.inputs} inputs (${(counters.inputs / s).toFixed(0)}/s), ${counters.connections} connections, ` +
        `RSS peak ${(pooler.rssPeakKb / 1024).toFixed(0)} MiB, crashes ${pooler.crashes.length}, canary failures ${canary.failures.length}`,
    );
  }, 10_000);
  progress.unref();

  try {
    if (opts.replay !== undefined) {
      for (const seed of opts.replay) {
        const record: ConnRecord = { seed, scenario: undefined, startedAt: Date.now(), endedAt: undefined };
        recent.push(record);
        await runConnection(ctx, record).catch((err: Error) => ctx.driverErrors.push(`${seed}: ${err.stack ?? String(err)}`));
        record.endedAt = Date.now();
      }
    } else {
      await Promise.all(Array.from({ length: opts.lanes }, (_, lane) => runLane(ctx, opts.seed, lane)));
    }
  } finally {
    stop = true;
    clearInterval(progress);
    clearInterval(killer);
    clearInterval(reloader);
  }
  const seconds = (Date.now() - started) / 1000;
  const canaryReport = await canary.stop();

  // Every fuzz connection is closed: the pooler must still be up, and answer.
  const admin = await connectPg(destinationConn(env.canaryTenant));
  let canaryRows = -1;
  try {
    canaryRows = Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM canary_log')).rows[0]?.n);
  } finally {
    await admin.end();
  }

  // PostgreSQL's own crashes (its log: "server process … was terminated by signal"), reported, not the pooler's.
  const pgLog = join(dirname(env.pg.dataDir), 'postgres.log');
  const postgresCrashes = existsSync(pgLog) ? readFileSync(pgLog, 'utf8').split('\n').filter((l) => / was terminated by signal /.test(l)) : [];

  const crashes: CrashReport[] = pooler.crashes.map((c) => ({ ...c, suspects: suspects.get(c) ?? [] }));
  return {
    seed: opts.seed,
    seconds,
    inputs: counters.inputs,
    rate: counters.inputs / seconds,
    connections: counters.connections,
    nonReading: counters.nonReading,
    logins: counters.logins,
    batches: counters.batches,
    bytesOut: counters.bytesOut,
    byScenario: Object.fromEntries([...counters.byScenario].sort()),
    responses: Object.fromEntries([...observed.errors].sort((a, b) => b[1] - a[1])),
    internalErrors: [...observed.internal.keys()],
    waits: Object.fromEntries([...observed.waits].sort((a, b) => b[1].ms - a[1].ms)),
    crashes,
    errorLines: pooler.errorLines,
    badBackendStreams: observed.badBackendStreams,
    rss: { startMb: pooler.rssStartKb / 1024, peakMb: pooler.rssPeakKb / 1024, limitMb: opts.rssLimitMb, samples: pooler.rssSamples },
    postgresCrashes,
    canary: canaryReport,
    diagnostics: snapshots,
    warnings: pooler.warnings,
    canaryWarnings: pooler.watched,
    chaos,
    canaryRows,
    driverErrors: ctx.driverErrors,
  };
}

/** The report as text: the figures first, then any finding in full. */
export function formatReport(r: FuzzReport): string {
  const lines = [
    `fuzz seed ${r.seed}: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${r.rate.toFixed(0)} inputs/s), ${r.connections} connections (${r.logins} logged in, ${r.nonReading} stopped reading), ${r.batches} batches, ${(r.bytesOut / 1024 / 1024).toFixed(1)} MiB sent`,
    `  chaos: ${r.chaos.terminated} fuzz server connections terminated, ${r.chaos.reloads} SIGHUP reloads`,
    `  scenarios: ${Object.entries(r.byScenario).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  responses: ${Object.entries(r.responses).slice(0, 25).map(([k, v]) => `${k} ×${v}`).join(', ')}`,
    `  waits: ${Object.entries(r.waits).map(([k, w]) => `${k} ${w.n}×${(w.ms / Math.max(1, w.n)).toFixed(0)} ms`).join(', ')}`,
    `  internal errors received: ${r.internalErrors.length === 0 ? 'none' : r.internalErrors.join(' | ')}`,
    `  crashes: ${r.crashes.length}; error-level log lines: ${r.errorLines.length} (warnings: ${r.warnings}, about the canary's tenant: ${r.canaryWarnings.length}); malformed backend streams: ${r.badBackendStreams}`,
    `  PostgreSQL (the fuzz tenants' server) backend crashes: ${r.postgresCrashes.length}${r.postgresCrashes.length > 0 ? ` — ${r.postgresCrashes[0]}` : ''}`,
    `  pooler RSS: ${r.rss.startMb.toFixed(0)} MiB at start, peak ${r.rss.peakMb.toFixed(0)} MiB (bound ${r.rss.limitMb} MiB, ${r.rss.samples} samples)`,
    `  canary: ${r.canary.steps} steps, ${r.canary.failures.length} failures, ${r.canary.committed} transactions committed (${r.canaryRows} rows), ${r.canary.logins} logins, latency p50 ${r.canary.p50Ms} ms, p99 ${r.canary.p99Ms} ms, max ${r.canary.maxMs} ms`,
  ];
  for (const c of r.crashes) {
    lines.push(`CRASH at ${new Date(c.at).toISOString()}: exit code ${c.code} signal ${c.signal}; connections in flight (replay with --replay SEED,…):`);
    lines.push(`  ${c.suspects.map((s) => `${s.seed} (${s.scenario ?? '?'})`).join(', ')}`);
    lines.push(c.tail);
  }
  for (const l of r.errorLines.slice(0, 20)) lines.push(`ERROR LOG: ${l}`);
  if (r.canary.failures.length > 0) {
    const kinds = new Map<string, number>();
    for (const f of r.canary.failures) {
      const k = `${f.step.replace(/\d+/g, 'N')}: ${f.error.replace(/\d+/g, 'N')}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    lines.push(`CANARY FAILURES by kind: ${[...kinds].map(([k, n]) => `${n}× ${k}`).join('; ')}`);
  }
  for (const w of r.canaryWarnings.slice(0, 20)) lines.push(`CANARY TENANT WARNING: ${w}`);
  for (const d of r.diagnostics) lines.push(`AT A CANARY FAILURE: ${d}`);
  for (const f of r.canary.failures.slice(0, 20)) lines.push(`CANARY FAILURE at ${new Date(f.at).toISOString()}: ${f.step}: ${f.error}`);
  for (const e of r.driverErrors.slice(0, 10)) lines.push(`DRIVER ERROR: ${e}`);
  return lines.join('\n');
}
