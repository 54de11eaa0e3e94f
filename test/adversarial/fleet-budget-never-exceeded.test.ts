// Fleet connection budgets (docs/fleet.md): three `switchyard pooler` processes stand in for three
// instances behind a load balancer — on one local state directory, and on the AWS source against
// moto with the user data's pooler.yaml (the budget leases row in DynamoDB, written conditionally). Two tenants of one cluster each
// have a fleet-wide size of 6, and the cluster a budget of 8 (less than 6 + 6: they share it on demand).
// A load far above those figures runs through every pooler while poolers join, leave (SIGTERM)
// and die (SIGKILL). PostgreSQL's own pg_stat_activity, sampled continuously, must never show a
// tenant above its size nor the two together above the cluster budget — not even mid-rebalance.
// After the SIGKILL the survivors take over the dead pooler's shares once its lease expires: the
// time until the fleet uses the whole budget again is measured and bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../../shared/src/domain/tenant.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { createAwsAdapters } from '../../shared/src/aws/adapters.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { freePort, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { connectPg, endQuietly, until, type PgClient } from '../helpers/clients.ts';
import { httpGet, parseExposition, scrape, valueOf } from '../helpers/metrics.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from '../helpers/moto.ts';
import { sampleUserData, userDataPoolerYaml } from '../helpers/user-data.ts';
import { spawnPooler, type PoolerChild } from '../helpers/pooler-process.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, superuserConn } from '../helpers/tenants.ts';

const SIZE = 6;
const CLUSTER_BUDGET = 8;
const LEASE_TTL_S = 4;
const CLIENTS_PER_TENANT_PER_POOLER = 4;
/** A hang detector for the rebalance after a SIGKILL: the lease ttl plus generous room for two busy cores. */
const REBALANCE_BOUND_MS = LEASE_TTL_S * 1000 + 30_000;
/** A hang detector for a join or a leave to settle (three poolers, moto and the load on two busy cores). */
const SETTLE_BOUND_MS = 60_000;

interface Login {
  database: string;
  user: string;
  password: string;
  /** The destination role: what pg_stat_activity shows for the tenant's server connections. */
  serverUser: string;
}

/** How one source's poolers run: its store, and a pooler process started as an instance would be. */
interface SourceRig {
  /** The store (moto or a state directory), empty. */
  open(): Promise<Adapters>;
  spawn(i: number, port: number, metricsPort: number): Promise<PoolerChild>;
  close(): void;
}

/** The behaviour both sources must give. */
function fleetBudgets(rig: SourceRig): void {
  let pg: PostgresServer;
  let adapters: Adapters;
  let admin: PgClient;
  const logins: Login[] = [];
  const poolers: Array<PoolerChild | undefined> = [];
  const ports: number[] = [];
  const metricsPorts: number[] = [];
  let stopLoad = false;
  const loops: Promise<void>[] = [];
  let sampler: Promise<void> | undefined;
  let rowWatcher: Promise<void> | undefined;
  /** The longest time between two renewals of one lease, as seen in the row (reported). */
  let longestRenewalGapMs = 0;
  let stopSampler = false;
  const samples: Array<{ at: number; perTenant: number[]; total: number }> = [];
  const maxSeen = { perTenant: [0, 0], total: 0 };

  async function startPoolerAt(i: number): Promise<void> {
    poolers[i] = await rig.spawn(i, ports[i]!, metricsPorts[i]!);
  }

  /**
   * One client's loop: short transactions through pooler `home`, on a connection it recycles every
   * 10–30 transactions (as client pools with a maximum connection lifetime do). A new connection
   * goes home when that pooler is up, else to another one — as a load balancer spreads new
   * connections over the live poolers, so a rejoined pooler gets clients again.
   */
  async function clientLoop(login: Login, home: number): Promise<void> {
    let target = home;
    while (!stopLoad) {
      let c: PgClient | undefined;
      try {
        if (poolers[home] !== undefined) target = home;
        else if (poolers[target] === undefined) target = Math.max(0, poolers.findIndex((p) => p !== undefined));
        c = await connectPg({ host: '127.0.0.1', port: ports[target]!, database: login.database, user: login.user, password: login.password });
        const transactions = 10 + Math.floor(Math.random() * 21);
        for (let n = 0; n < transactions && !stopLoad; n++) await c.query('SELECT pg_sleep(0.02)');
      } catch {
        // Its pooler left or died (expected here); go on through another.
        target = (target + 1) % ports.length;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await endQuietly(c);
      }
    }
  }

  async function sample(): Promise<{ perTenant: number[]; total: number }> {
    const r = await admin.query<{ usename: string; n: number }>('SELECT usename, count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1) GROUP BY usename', [logins.map((l) => l.serverUser)]);
    const perTenant = logins.map((l) => r.rows.find((x) => x.usename === l.serverUser)?.n ?? 0);
    return { perTenant, total: perTenant.reduce((a, b) => a + b, 0) };
  }

  beforeAll(async () => {
    pg = await startPostgres();
    adapters = await rig.open();
    const cluster = await adapters.clusters.create({ clusterId: 'fleet', kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [], connectionBudget: CLUSTER_BUDGET });
    await adapters.config.publishClusterTargets('fleet', clusterTargetsOf(cluster));
    for (const name of ['fla', 'flb']) {
      const dest = await createDestination(pg, { name });
      const password = randomPassword('cli');
      const ctx = { clusterId: 'fleet' };
      await adapters.tenants.create({
        tenantId: `tenant-${name}`,
        client: { database: `app_${name}`, user: `usr_${name}` },
        clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
        destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await adapters.secrets.encrypt(dest.password, tenantSecretContext(`tenant-${name}`, ctx)) },
        pool: { size: SIZE, checkoutTimeout: 120 },
      });
      logins.push({ database: `app_${name}`, user: `usr_${name}`, password, serverUser: dest.user });
    }
    await adapters.config.bumpConfigVersion();
    admin = await connectPg(superuserConn(pg));
    for (let i = 0; i < 3; i++) {
      ports.push(await freePort());
      metricsPorts.push(await freePort());
    }
    rowWatcher = (async () => {
      const renewed = new Map<string, number>();
      while (!stopSampler) {
        for (const m of (await adapters.budgets.read())?.members ?? []) {
          const before = renewed.get(m.holder);
          if (before !== undefined && m.expiresAtMs !== before) longestRenewalGapMs = Math.max(longestRenewalGapMs, m.expiresAtMs - before);
          renewed.set(m.holder, m.expiresAtMs);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    sampler = (async () => {
      while (!stopSampler) {
        const s = await sample();
        samples.push({ at: Date.now(), ...s });
        s.perTenant.forEach((n, i) => (maxSeen.perTenant[i] = Math.max(maxSeen.perTenant[i]!, n)));
        maxSeen.total = Math.max(maxSeen.total, s.total);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
  }, 120_000);

  afterAll(async () => {
    stopLoad = true;
    stopSampler = true;
    await Promise.allSettled(loops);
    await sampler?.catch(() => undefined);
    await rowWatcher?.catch(() => undefined);
    for (const p of poolers) await p?.stop();
    await endQuietly(admin);
    await adapters?.close();
    await pg?.stop();
    rig.close();
  }, 120_000);

  /** Waits until the fleet holds the whole cluster budget (the load asks for far more). */
  async function saturated(what: string, ms = SETTLE_BOUND_MS): Promise<number> {
    const t0 = Date.now();
    try {
      await until(() => samples.length > 0 && samples[samples.length - 1]!.total >= CLUSTER_BUDGET, ms, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await fleetPicture()}`);
    }
    return Date.now() - t0;
  }

  /** The lease row has exactly these poolers, and every one acknowledged its generation. */
  async function settledWith(ids: string[]): Promise<boolean> {
    const r = await adapters.budgets.read();
    return r !== undefined && r.members.map((m) => m.poolerId).sort().join() === ids.join() && r.members.every((m) => m.ack === r.generation);
  }

  /** What each pooler holds and serves, and the lease row: the message of a timed-out wait. */
  async function fleetPicture(): Promise<string> {
    const lines = [`last sample: ${JSON.stringify(samples[samples.length - 1])}`, `lease row: ${JSON.stringify(await adapters.budgets.read())}`];
    for (const [i, p] of poolers.entries()) {
      if (p === undefined) continue;
      try {
        const m = parseExposition((await httpGet(metricsPorts[i]!, '/metrics')).body);
        const pick = (name: string) => m.samples.filter((x) => x.name === name).map((x) => `${Object.values(x.labels).join('/')}=${x.value}`).join(' ');
        lines.push(`pooler ${i}: clients ${pick('switchyard_pool_clients')}; servers ${pick('switchyard_pool_servers')}; lease sizes ${pick('switchyard_pool_lease_size')}`);
      } catch (e) {
        lines.push(`pooler ${i}: metrics unavailable (${(e as Error).message})`);
      }
    }
    return lines.join('\n');
  }

  /** Never above a tenant's size, never above the cluster's budget — over every sample so far. */
  function withinBudgets(phase: string): void {
    expect(maxSeen.total, `${phase}: server connections of the cluster's tenants`).toBeLessThanOrEqual(CLUSTER_BUDGET);
    for (const n of maxSeen.perTenant) expect(n, `${phase}: server connections of one tenant`).toBeLessThanOrEqual(SIZE);
  }

  it('keeps to the budgets while poolers join, leave and rejoin, and die under load, and rebalances after a SIGKILL', async () => {
    // Two poolers first, under a load of 2 tenants × 4 clients × 3 homes — far above 8.
    await startPoolerAt(0);
    await startPoolerAt(1);
    for (const login of logins) for (let home = 0; home < 3; home++) for (let k = 0; k < CLIENTS_PER_TENANT_PER_POOLER; k++) loops.push(clientLoop(login, home % 2));
    await saturated('two poolers to use the whole budget');
    withinBudgets('two poolers');

    // A third joins: the others lower first, then it gets its shares.
    await startPoolerAt(2);
    for (const login of logins) for (let k = 0; k < CLIENTS_PER_TENANT_PER_POOLER; k++) loops.push(clientLoop(login, 2));
    await until(async () => settledWith(['fleet-0', 'fleet-1', 'fleet-2']), SETTLE_BOUND_MS, 'the third pooler to be a member of a settled generation');
    await saturated('three poolers to use the whole budget');
    withinBudgets('a join');

    // One leaves (SIGTERM: it gives its connections back, then its lease) and comes back.
    await poolers[1]!.stop();
    poolers[1] = undefined;
    await until(async () => settledWith(['fleet-0', 'fleet-2']), SETTLE_BOUND_MS, 'the leaving pooler to be out of a settled generation');
    await saturated('two poolers to use the whole budget after a leave');
    await startPoolerAt(1);
    // Back in the row, with every member on the new generation's shares: only then is the fleet of three tested.
    await until(async () => settledWith(['fleet-0', 'fleet-1', 'fleet-2']), SETTLE_BOUND_MS, 'the rejoined pooler to be a member of a settled generation');
    await saturated('three poolers again');
    withinBudgets('a leave and a join');

    // One dies (SIGKILL): its share is reused only once its lease has expired.
    const victim = poolers[0]!;
    // Its lease as last renewed before the kill (a renewal after this read only makes it later).
    const victimExpiresAt = (await adapters.budgets.read())!.members.find((m) => m.poolerId === 'fleet-0')!.expiresAtMs;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    poolers[0] = undefined;
    // Rebalanced: the dead pooler's lease expired and was dropped, and both survivors have the new
    // generation's shares in effect; then the survivors use the whole budget again.
    await until(() => settledWith(['fleet-1', 'fleet-2']), REBALANCE_BOUND_MS, 'the dead pooler’s lease to expire and the survivors to settle');
    const settledAt = Date.now();
    const settledMs = settledAt - killedAt;
    const sinceSettled = samples.length;
    await until(() => samples.slice(sinceSettled).some((s) => s.total >= CLUSTER_BUDGET), SETTLE_BOUND_MS, 'the survivors to use the whole budget');
    const fullMs = Date.now() - killedAt;
    console.log(
      `fleet budget: ${samples.length} samples of pg_stat_activity; max per tenant ${maxSeen.perTenant.join('/')} (size ${SIZE}), max total ${maxSeen.total} (cluster budget ${CLUSTER_BUDGET}); ` +
        `after SIGKILL: survivors settled on the new shares after ${settledMs} ms, whole budget in use after ${fullMs} ms (lease ttl ${LEASE_TTL_S} s); longest time between two renewals of a lease ${longestRenewalGapMs} ms`,
    );
    // The point of it all: never above a tenant's size, never above the cluster's budget.
    withinBudgets('a SIGKILL');
    // Its lease had to expire first: the survivors settled without it no sooner than its expiry.
    expect(settledAt).toBeGreaterThanOrEqual(victimExpiresAt);
    // Each survivor shows its share of each tenant's size: together the whole size.
    for (const login of logins) {
      const tenant = `tenant-${login.database.slice('app_'.length)}`;
      const shares = await Promise.all([1, 2].map(async (i) => valueOf(await scrape(metricsPorts[i]!), 'switchyard_pool_lease_size', { tenant })));
      expect(shares.reduce((a, b) => a + b, 0), tenant).toBe(SIZE);
    }
    expect(maxSeen.total).toBeGreaterThanOrEqual(CLUSTER_BUDGET); // the load did reach the budget: the bound was tested
  }, 300_000);
}

describe('fleet budgets: three poolers on the local source never exceed a tenant’s size or the cluster’s budget', () => {
  let stateDir: string;
  fleetBudgets({
    async open() {
      stateDir = mkdtempSync(join(tmpdir(), 'switchyard-fleet-budget-'));
      return createLocalAdapters(stateDir);
    },
    spawn(i, port, metricsPort) {
      const file = join(stateDir, `pooler-${i}.yaml`);
      writeFileSync(file, [`listen: { host: 127.0.0.1, port: ${port} }`, `metrics: { port: ${metricsPort} }`, 'log_level: warn', `fleet_budgets: { lease_ttl: ${LEASE_TTL_S} }`, ''].join('\n'));
      return spawnPooler(['--source', 'local', '--state-dir', stateDir, '--config', file], port, { keepOutput: 20_000, env: { ...process.env, SWITCHYARD_POOLER_ID: `fleet-${i}` } });
    },
    close() {
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  });
});

describeWithMoto('fleet budgets: three poolers on the AWS source (moto, the user data’s pooler.yaml) never exceed a tenant’s size or the cluster’s budget', () => {
  useMoto();
  const dirs: string[] = [];
  let env: Record<string, string>;
  fleetBudgets({
    async open() {
      const dynamodb = new DynamoDBClient({});
      await createSwitchyardTable(dynamodb, 'switchyard-fleet');
      dynamodb.destroy();
      const kms = new KMSClient({});
      const key = await kms.send(new CreateKeyCommand({ Description: 'switchyard fleet budgets' }));
      kms.destroy();
      env = { SWITCHYARD_TABLE: 'switchyard-fleet', SWITCHYARD_KMS_KEY_ID: key.KeyMetadata?.KeyId ?? '', SWITCHYARD_STAGE: 'fleet' };
      return createAwsAdapters(env);
    },
    spawn(i, port, metricsPort) {
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-fleet-aws-'));
      dirs.push(dir);
      const file = join(dir, 'pooler.yaml');
      // As on an instance (one machine stands in for three: each gets its own ports); a short lease ttl.
      const yaml = userDataPoolerYaml(sampleUserData(), { LISTEN_PORT: String(port), HEALTH_PORT: String(metricsPort), CANCEL_PORT: '0', PRIVATE_IP: '127.0.0.1' });
      writeFileSync(file, `${yaml}\nlog_level: warn\nfleet_budgets: { lease_ttl: ${LEASE_TTL_S} }\n`);
      return spawnPooler(['--source', 'aws', '--config', file], port, {
        keepOutput: 20_000,
        env: { ...process.env, ...env, AWS_EC2_METADATA_DISABLED: 'true', SWITCHYARD_POOLER_ID: `fleet-${i}` },
      });
    },
    close() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  });
});
