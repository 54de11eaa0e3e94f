// Hot reload under load (docs/architecture.md, "Reload semantics"): pgbench runs through the pooler on
// one tenant while the configuration file — 1,000 tenants, then 10,000 — is reloaded again and
// again with tenants added, removed and changed around it. pgbench must see no error and no
// disconnect, every transaction must commit, and the unchanged tenant's pool must keep the very
// same server connections (the backend pids in pg_stat_activity). The reload times are measured
// and printed (file read + YAML + validation, then the snapshot swap); they are not asserted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toYaml } from '../shared/src/yaml.ts';
import { FileSource } from '../pooler/src/config/sources/file-source.ts';
import { SourceController } from '../pooler/src/config/sources/controller.ts';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, pgbench, sleep, until } from './helpers/clients.ts';
import {
  createTenant,
  destinationConn,
  poolerConn,
  scramVerifierFromPostgres,
  testLogger,
  type TenantConfigInput,
  type TestTenant,
} from './helpers/tenants.ts';
import { destinationBackendPids } from './helpers/backends.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const POOL_SIZE = 4;
const BENCH_CLIENTS = 8;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let controller: SourceController | undefined;
let bench: TestTenant;
let dir: string;
let file: string;
let verifier: string;

/** A tenant nobody connects to: it only has to be routed (and changed, added, removed). */
function synthetic(i: number, size: number): TenantConfigInput {
  return {
    id: `syn-${String(i).padStart(5, '0')}`,
    database: `app${i}`,
    user: `user${i}`,
    verifiers: [verifier],
    target: { host: pg.host, port: pg.port, database: `db${i}`, user: `role${i}`, password: `pw${i}` },
    pool: { size },
  };
}

/**
 * The file for round `round` with `total` tenants: the bench tenant unchanged, the others with a
 * round-dependent pool size (changed), and ids shifted by round for the last 10% (added/removed).
 */
function writeConfig(total: number, round: number): void {
  const tenants: TenantConfigInput[] = [bench.config];
  const stable = Math.floor((total - 1) * 0.9);
  for (let i = 0; i < stable; i++) tenants.push(synthetic(i, 1 + (round % 5)));
  for (let i = stable; i < total - 1; i++) tenants.push(synthetic(100_000 + round * 20_000 + i, 2));
  writeFileSync(file, toYaml({ listen: { host: '127.0.0.1', port: pooler?.port ?? 0 }, log_level: 'silent', tenants }));
}

/**
 * The pooler's server connections of the bench tenant: only the pooler logs in as the destination
 * role while pgbench runs (the helpers' direct connections are closed); application_name follows
 * the clients, so it cannot tell.
 */
function serverPids(): Promise<number[]> {
  return destinationBackendPids(pg, bench);
}

async function historyCount(): Promise<number> {
  const c = await connectPg(destinationConn(bench));
  try {
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_history')).rows[0]!.n;
  } finally {
    await c.end();
  }
}

function benchClients(): number {
  return pooler!.clientList().filter((c) => c.route?.id === bench.id).length;
}

/**
 * Disconnects the pooler itself caused (any reason but the client's own Terminate or close). A
 * live count of connected clients cannot tell a reload's disconnect from pgbench's threads
 * finishing one by one at the end of -T, so the pooler's own reasons are what is checked.
 */
function poolerCausedDisconnects(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [reason, n] of pooler!.disconnectCounts()) {
    if (reason !== 'client_terminate' && reason !== 'client_close') out[reason] = n;
  }
  return out;
}

async function timedReload(total: number, round: number): Promise<{ loadMs: number; swapMs: number }> {
  writeConfig(total, round);
  await controller!.reload(`test round ${round}`);
  expect(pooler!.snapshot().byId.size).toBe(total);
  return { loadMs: controller!.lastLoadMs, swapMs: controller!.lastSwapMs };
}

const fmt = (t: { loadMs: number; swapMs: number }): string => `read+validate ${t.loadMs.toFixed(0)} ms, swap ${t.swapMs.toFixed(0)} ms`;

beforeAll(async () => {
  pg = await startPostgres();
  bench = await createTenant(pg, { id: 'reload-bench', pool: { mode: 'transaction', size: POOL_SIZE } });
  const init = await pgbench(destinationConn(bench), ['-i', '-s', '1', '-q']);
  expect(init.code, init.stderr).toBe(0);
  verifier = await scramVerifierFromPostgres(pg, 'synthetic-password');
  dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-'));
  file = join(dir, 'pooler.yaml');
  writeConfig(1000, 0);
  const log = testLogger();
  const source = new FileSource(file, { log });
  const initial = await source.load();
  pooler = await startPooler(initial.config, { logger: log, baseDir: dir });
  controller = new SourceController(pooler, source, initial, { log, pollMaxMs: 0, heartbeatMs: 0 });
  controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await pooler?.close();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('reload while pgbench runs', () => {
  it('reloads 1,000 tenants repeatedly: no pgbench error or disconnect, every transaction commits, same server connections', async () => {
    const historyBefore = await historyCount();
    let running = true;
    const run = pgbench(poolerConn(pooler!, bench), ['-n', '-c', String(BENCH_CLIENTS), '-j', '2', '-T', '12', '-M', 'extended']).finally(() => (running = false));

    // pgbench is connected and the pool is full before the first reload.
    await until(() => {
      const s = pooler!.poolStats().find((p) => p.tenantId === bench.id);
      return benchClients() === BENCH_CLIENTS && s !== undefined && s.serversActive + s.serversIdle === POOL_SIZE && s.totalCheckouts > 200;
    }, 30_000, 'pgbench connected and the pool at full size');
    const pidsBefore = await serverPids();
    expect(pidsBefore).toHaveLength(POOL_SIZE);
    const disconnectsBefore = poolerCausedDisconnects();

    const times: Array<{ loadMs: number; swapMs: number }> = [];
    let round = 1;
    while (running) {
      const t = await timedReload(1000, round++);
      if (running) times.push(t);
      // Nobody was disconnected by that reload.
      expect(poolerCausedDisconnects()).toEqual(disconnectsBefore);
      await sleep(300);
    }
    const r = await run;
    const why = `exit ${r.code}\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-1000)}`;
    // The test means something only if reloads really happened during the run.
    expect(times.length, why).toBeGreaterThanOrEqual(3);
    expect(r.code, why).toBe(0);
    expect(r.failed ?? 0, why).toBe(0);
    expect(r.stderr, why).not.toMatch(/error|FATAL|aborted|terminat/i);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1]);
    expect(processed, why).toBeGreaterThan(0);
    expect(poolerCausedDisconnects()).toEqual(disconnectsBefore);
    // Every transaction pgbench counted committed (each inserts one history row).
    expect(await historyCount()).toBe(historyBefore + processed);
    // The unchanged tenant kept its pool and its server connections.
    expect(await serverPids()).toEqual(pidsBefore);

    const avg = (k: 'loadMs' | 'swapMs') => times.reduce((n, t) => n + t[k], 0) / times.length;
    console.info(
      `reload of 1,000 tenants under pgbench (${times.length} reloads, ${processed} transactions): ` +
        `average read+validate ${avg('loadMs').toFixed(0)} ms, swap ${avg('swapMs').toFixed(0)} ms; each: ${times.map(fmt).join('; ')}`,
    );
  });

  it('reloads 10,000 tenants and back, the bench tenant still served on the same connections', async () => {
    const pidsBefore = await serverPids();
    const up = await timedReload(10_000, 50);
    const changed = await timedReload(10_000, 51);
    const down = await timedReload(1000, 52);
    // The bench tenant still works through the pooler, on the same server connections.
    const c = await connectPg(poolerConn(pooler!, bench));
    try {
      const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_branches');
      expect(r.rows[0]?.n).toBe(1);
    } finally {
      await c.end();
    }
    expect(await serverPids()).toEqual(pidsBefore);
    console.info(`reload 1,000 → 10,000 tenants: ${fmt(up)}; 10,000 changed: ${fmt(changed)}; 10,000 → 1,000: ${fmt(down)}`);
  });
});
