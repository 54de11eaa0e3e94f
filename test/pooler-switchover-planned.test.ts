// Planned switchover (docs/deploy.md "Planned switchover", docs/local.md): node-postgres clients
// insert rows through a pooler on the local source without pause, each insert its own committed
// transaction, and one client holds a transaction open across the start of the switch. The
// control plane's RDS event handler gets "failover started" (the cluster is marked switching and
// the pooler holds new transactions), the primary is drained, fenced and the standby promoted
// (local/switchover-fence.ts), then "failover completed" (new writer, mark cleared):
// - no client sees an error or loses its connection, the open transaction included;
// - every acknowledged row is on the new primary, and writes go on there;
// - the old primary accepts no write afterwards;
// - the pause (the longest an insert waited) is reported, and bounded.
// Then: a switch that never completes holds new transactions only until switchover_timeout, and
// they go on, on the current writer, without an error.
import { describe, expect, it } from 'vitest';
import { makeHandler as makeRdsEventHandler } from '../functions/failover/rds-event.ts';
import { depsWith } from '../functions/lib/deps.ts';
import { lambdaContext, rdsEvent } from '../functions/testing/test-events.ts';
import { createLogger } from '../functions/lib/logger.ts';
import { createPgConnect } from '../functions/lib/pg-target.ts';
import { fenceAndPromote, prepareSwitchover } from '../local/switchover-fence.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, sleep, until, type PgClient } from './helpers/clients.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { poolerSettings, storedWrites, useFailoverRig, TENANT_ID, type Rig } from './helpers/failover-rig.ts';
import { scrape, valueOr } from './helpers/metrics.ts';
import type { ConnSettings } from './helpers/tenants.ts';

const INSTANCE = 'switch-db';
const SWITCHOVER_TIMEOUT_S = 60;
const metricsPort = await freePort();
const env = useFailoverRig('both', undefined, {
  rdsInstance: INSTANCE,
  poolerConfig: { limits: { switchover_timeout: SWITCHOVER_TIMEOUT_S }, metrics: { host: '127.0.0.1', port: metricsPort } },
});
const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => valueOr(await scrape(metricsPort), name, { tenant: TENANT_ID, ...labels }, 0);

interface Write {
  writer: number;
  seq: number;
  sentAt: number;
  at: number;
}

/** `n` clients inserting without pause, each insert committed on its own; every outcome recorded with its timing. */
class Writers {
  readonly clients: PgClient[] = [];
  readonly acked: Write[] = [];
  readonly failed: (Write & { code: string | undefined; message: string })[] = [];
  #stopped = false;
  #loops: Promise<void>[] = [];

  static async start(c: ConnSettings, n: number): Promise<Writers> {
    const w = new Writers();
    for (let i = 0; i < n; i++) w.clients.push(await connectPg(c, { application_name: `planned-${i}` }));
    w.#loops = w.clients.map((client, i) => w.#run(client, i));
    return w;
  }

  async #run(c: PgClient, writer: number): Promise<void> {
    for (let seq = 0; !this.#stopped; seq++) {
      const sentAt = Date.now();
      try {
        await c.query('INSERT INTO writes (writer, seq) VALUES ($1, $2)', [writer, seq]);
        this.acked.push({ writer, seq, sentAt, at: Date.now() });
      } catch (err) {
        const e = pgErrorInfo(err);
        this.failed.push({ writer, seq, sentAt, at: Date.now(), code: e.code, message: e.message });
        if (backgroundErrorsOf(c).length > 0) return;
      }
    }
  }

  /** The longest an insert took: the pause clients saw. */
  longestMs(): number {
    return Math.max(0, ...this.acked.map((a) => a.at - a.sentAt));
  }

  async end(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    await Promise.all(this.clients.map((c) => endQuietly(c)));
  }
}

function handler(rig: Rig) {
  const deps = depsWith(rig.adapters, { log: createLogger({ level: process.env.SWITCHYARD_TEST_LOG_LEVEL ?? 'silent' }), pg: createPgConnect({ ssl: 'disable' }) });
  const h = makeRdsEventHandler(deps);
  return async (eventId: string) => h(rdsEvent({ eventId, sourceId: INSTANCE, sourceType: 'DB_INSTANCE', date: new Date().toISOString() }) as never, lambdaContext());
}

/** How many times the pooler's log says `message`. */
const logCount = (message: string): number => env.pooler.output().split(message).length - 1;

describe('planned switchover', () => {
  it('a switch that never completes holds new transactions only until switchover_timeout, then they go on without an error', async () => {
    // Not the 60 s of the next test: the mark is dated so that only ~2 s of it remain.
    const r = env.rig;
    const c = await connectPg(poolerSettings(env.pooler, r));
    try {
      await c.query('SELECT 1');
      const holds = logCount('planned switchover: new transactions wait');
      // What the pooler reads (as the handler publishes it for a "started" event), dated so that
      // only ~3 s of the hold remain: the pooler's bound counts from the event's time.
      const targets = (await r.adapters.config.getClusterTargets('main'))!;
      const since = new Date(Date.now() - (SWITCHOVER_TIMEOUT_S - 3) * 1000).toISOString();
      await r.adapters.config.publishClusterTargets('main', { ...targets, switching: { since, cause: 'RDS-EVENT-0013' } });
      await r.adapters.config.bumpConfigVersion();
      await r.adapters.config.pushReload();
      await until(() => logCount('planned switchover: new transactions wait') > holds, 20_000, 'the pooler holding');
      const t0 = Date.now();
      const insert = c.query<{ port: number }>('INSERT INTO writes (writer, seq) VALUES (900, 0) RETURNING port');
      await until(async () => (await metric('switchyard_switchover_clients_queued')) === 1, 20_000, 'the insert queued by the hold');
      const res = await insert;
      const waited = Date.now() - t0;
      expect(res.rows[0]?.port).toBe(r.primary.port);
      // Held (not answered at once), and released by the deadline well before checkout_timeout (30 s).
      expect(waited).toBeGreaterThan(500);
      expect(waited).toBeLessThan(25_000);
      expect(env.pooler.output()).toContain('no new writer confirmed within switchover_timeout');
      expect(await metric('switchyard_switchover_pauses_total', { outcome: 'timeout' })).toBe(1);
      expect(await metric('switchyard_switchover_clients_queued')).toBe(0);
      // Back as before for the next test.
      await r.adapters.config.publishClusterTargets('main', targets);
      await r.adapters.config.bumpConfigVersion();
      await r.adapters.config.pushReload();
    } finally {
      await endQuietly(c);
    }
  });

  it('under a write load: no client error, no lost commit, the open transaction commits, the pause is reported', async () => {
    const r = env.rig;
    const send = handler(r);
    const writers = await Writers.start(poolerSettings(env.pooler, r), 6);
    env.atEnd(() => writers.end());
    await until(() => writers.acked.length >= 60, 30_000, 'writes on the primary');

    // A transaction open when the switch starts: it must finish on the old primary and commit.
    const open = await connectPg(poolerSettings(env.pooler, r), { application_name: 'planned-open' });
    env.atEnd(() => endQuietly(open));
    await open.query('BEGIN');
    await open.query('INSERT INTO writes (writer, seq) VALUES (100, 0)');
    const openCommit = (async () => {
      await sleep(500);
      await open.query('INSERT INTO writes (writer, seq) VALUES (100, 1)');
      await open.query('COMMIT');
      return Date.now();
    })();

    await prepareSwitchover(r.primary);
    const holds = logCount('planned switchover: new transactions wait');
    const startedAt = Date.now();
    const started = await send('RDS-EVENT-0013');
    expect(started.configVersion).toBeDefined();
    await until(() => logCount('planned switchover: new transactions wait') > holds, 20_000, 'the pooler holding new transactions');
    const heldAt = Date.now();
    const fence = await fenceAndPromote(r.primary, r.standby, { drainTimeoutMs: 20_000 });
    const committedAt = await openCommit;
    expect(fence.openTransactionsCut).toBe(0);
    expect(committedAt).toBeLessThanOrEqual(fence.drainedAt);
    const done = await send('RDS-EVENT-0049');
    expect(done.clusters[0]).toMatchObject({ switching: false });
    const resumedAt = Date.now();

    await until(() => writers.acked.filter((a) => a.sentAt >= resumedAt).length >= 60, 30_000, 'writes on the new primary');
    await writers.end();

    const why = `failed: ${JSON.stringify(writers.failed.slice(0, 5))}\n${env.pooler.output().slice(-4000)}`;
    expect(writers.failed, why).toEqual([]);
    expect(writers.clients.flatMap((c) => backgroundErrorsOf(c)).map((e) => e.message), why).toEqual([]);
    // Every acknowledged row, and the open transaction's two, are on the new primary.
    const stored = await storedWrites(r.standby, r.destination.database);
    const missing = writers.acked.filter((a) => !stored.has(`${a.writer}:${a.seq}`));
    expect(missing, why).toEqual([]);
    expect(stored.has('100:0') && stored.has('100:1')).toBe(true);
    // Writes went on there: the last ones were executed by the new primary.
    const ports = await r.standby.psql('SELECT DISTINCT port FROM writes ORDER BY port', r.destination.database);
    expect(ports.split('\n').map(Number)).toContain(r.standby.port);
    // The old primary accepts nothing (it is stopped).
    await expect(r.primary.psql('SELECT 1')).rejects.toThrow();

    expect(await metric('switchyard_switchover_pauses_total', { outcome: 'confirmed' })).toBe(1);
    expect(await metric('switchyard_switchover_pause_seconds_count')).toBe(2);
    const pauseMs = writers.longestMs();
    expect(pauseMs).toBeLessThan(SWITCHOVER_TIMEOUT_S * 1000);
        console.info(
      `timeline (ms from the started event): handled ${heldAt - startedAt} (pooler holding), drained ${fence.drainedAt - startedAt}, stopped ${fence.primaryStoppedAt - startedAt}, ` +
        `caught up ${fence.standbyCaughtUpAt - startedAt}, promoted ${fence.promotedAt - startedAt}, completed handled ${resumedAt - startedAt}`,
    );
    console.info(
      `planned switchover: ${writers.acked.length} inserts acknowledged, 0 failed, 0 lost; longest insert (the pause) ${pauseMs} ms; ` +
        `drain ${fence.drainedAt - committedAt} ms after the open transaction committed, fence → standby caught up ${fence.standbyCaughtUpAt - fence.primaryStoppedAt} ms, promote ${fence.promotedAt - fence.standbyCaughtUpAt} ms`,
    );
  });
});
