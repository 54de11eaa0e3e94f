// The read endpoint, end to end (docs/read-endpoints.md): a primary and a
// streaming standby published as the cluster's writer and reader, a tenant with the read endpoint
// on (max replica lag 1000 ms), the pooler as a real process on the local source.
// - `<database>_ro` with the tenant's user and password lands on the standby (pg_is_in_recovery());
//   the tenant's own login stays on the primary;
// - a write on the read endpoint gets PostgreSQL's own 25006;
// - replay paused on the standby and a write on the primary: the standby lags past the bound and
//   reads go to the primary; replay resumed: back to the standby;
// - the standby stopped: reads go to the primary; started again: back to the standby;
// - the metrics show the reader's lag and the reads routed to reader and writer.
// Hostile tenant: through its own login it shadows pg_is_in_recovery() (and the lag functions)
// with its own, first on its role's search_path: the lag probe, which logs in with the tenant's
// role, must still see the standby's true lag (it schema-qualifies everything).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toYaml } from '../shared/src/yaml.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, until, type PgClient } from './helpers/clients.ts';
import { startRig, stopRig, TENANT_ID, type Rig } from './helpers/failover-rig.ts';
import { scrape, valueOr } from './helpers/metrics.ts';
import { spawnPooler, type PoolerChild } from './helpers/pooler-process.ts';

let rig: Rig | undefined;
let pooler: PoolerChild | undefined;
let metricsPort = 0;
let dir: string | undefined;
const clients: PgClient[] = [];

beforeAll(async () => {
  rig = await startRig({ members: 'both' });
  const t = (await rig.adapters.tenants.get(TENANT_ID))!;
  await rig.adapters.tenants.update(TENANT_ID, t.version, { readEndpoint: { enabled: true, maxReplicaLagMs: 1000 } });
  await rig.adapters.config.bumpConfigVersion();
  dir = mkdtempSync(join(tmpdir(), 'switchyard-read-'));
  const port = await freePort();
  metricsPort = await freePort();
  const base = join(dir, 'pooler.yaml');
  writeFileSync(base, toYaml({ listen: { host: '127.0.0.1', port }, metrics: { host: '127.0.0.1', port: metricsPort }, log_level: process.env.SWITCHYARD_TEST_LOG ?? 'info' }));
  pooler = await spawnPooler(['--source', 'local', '--state-dir', rig.stateDir, '--config', base], port, { keepOutput: 200_000 });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await endQuietly(c);
  await pooler?.stop();
  await stopRig(rig);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function connect(database: string): Promise<PgClient> {
  const c = await connectPg({ host: '127.0.0.1', port: pooler!.port, database, user: rig!.client.user, password: rig!.client.password });
  clients.push(c);
  return c;
}

async function onStandby(c: PgClient): Promise<boolean> {
  return (await c.query<{ r: boolean }>('SELECT pg_catalog.pg_is_in_recovery() AS r')).rows[0]!.r;
}

const why = (): string => pooler!.output().slice(-4000);

describe('read endpoint', () => {
  let reads: PgClient;

  it('sends reads to the standby and the tenant login to the primary', async () => {
    reads = await connect('app_ro');
    const writes = await connect('app');
    // The hostile tenant's trap for the probe (replicated to the standby; new sessions of its role see it).
    await writes.query('CREATE SCHEMA trap');
    await writes.query("CREATE FUNCTION trap.pg_is_in_recovery() RETURNS boolean LANGUAGE sql AS 'SELECT false'");
    await writes.query("CREATE FUNCTION trap.pg_last_xact_replay_timestamp() RETURNS timestamptz LANGUAGE sql AS 'SELECT now()'");
    await writes.query('ALTER ROLE CURRENT_USER SET search_path = trap, pg_catalog, public');
    // The first figure of the lag probe takes up to a poll: until then reads go to the writer.
    await until(() => onStandby(reads), 30_000, `reads on the standby\n${why()}`);
    expect(await onStandby(writes)).toBe(false);
    for (let i = 0; i < 5; i++) expect(await onStandby(reads)).toBe(true);
    const err = pgErrorInfo(await reads.query("INSERT INTO writes (writer, seq) VALUES (99, 1)").catch((e: unknown) => e));
    expect(err.code).toBe('25006');
  });

  it('falls back to the primary while the standby lags past the bound, and returns', async () => {
    const r = rig!;
    // The probe logs in again (now under the trap): end its session on the standby.
    const probeCount = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'switchyard lag probe'";
    await until(async () => (await r.standby.psql(probeCount)) === '1', 30_000, 'the lag probe connected to the standby');
    await r.standby.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'switchyard lag probe'");
    await until(async () => (await r.standby.psql(probeCount)) === '1' && (await onStandby(reads)), 30_000, `the probe back, its session under the trap\n${why()}`);
    await r.standby.psql('SELECT pg_wal_replay_pause()');
    try {
      // A commit the standby receives (synchronous_commit on: flushed there) but does not replay.
      await r.primary.psql('INSERT INTO writes (writer, seq, port) VALUES (98, 1, 0)', r.destination.database);
      const lagFrom = Date.now();
      await until(async () => !(await onStandby(reads)), 30_000, `reads back on the primary while the standby lags\n${why()}`);
      console.log(`read endpoint: reads on the writer ${Date.now() - lagFrom} ms after the standby fell behind (bound 1000 ms)`);
      for (let i = 0; i < 3; i++) expect(await onStandby(reads)).toBe(false);
      const m = await scrape(metricsPort);
      expect(valueOr(m, 'switchyard_reader_replica_lag_seconds', { reader: `${r.standby.host}:${r.standby.port}` }, 0)).toBeGreaterThan(1);
      expect(valueOr(m, 'switchyard_read_transactions_total', { tenant: TENANT_ID, routed_to: 'writer' }, 0)).toBeGreaterThan(0);
      expect(valueOr(m, 'switchyard_read_transactions_total', { tenant: TENANT_ID, routed_to: 'reader' }, 0)).toBeGreaterThan(0);
    } finally {
      await r.standby.psql('SELECT pg_wal_replay_resume()');
    }
    const resumedAt = Date.now();
    await until(() => onStandby(reads), 30_000, `reads on the standby again after replay resumed\n${why()}`);
    console.log(`read endpoint: reads on the standby again ${Date.now() - resumedAt} ms after replay resumed`);
  });

  it('falls back to the primary while the standby is down, and returns', async () => {
    const r = rig!;
    // immediate: the data directory stays (a fast stop of a throwaway server removes it), and the
    // reader goes away as in a crash.
    await r.standby.stop('immediate');
    const stoppedAt = Date.now();
    try {
      // The transactions in flight on the stopped standby may fail; new ones go to the primary.
      await until(async () => !(await onStandby(reads).catch(() => true)), 30_000, `reads on the primary while the standby is down\n${why()}`);
      console.log(`read endpoint: reads on the writer ${Date.now() - stoppedAt} ms after the standby stopped`);
      for (let i = 0; i < 3; i++) expect(await onStandby(reads)).toBe(false);
      // A new client of the read endpoint logs in and reads too (the login itself needs a server).
      const late = await connect('app_ro');
      expect(await onStandby(late)).toBe(false);
    } finally {
      await r.standby.start();
    }
    const startedAt = Date.now();
    await until(async () => await onStandby(reads).catch(() => false), 60_000, `reads on the standby again after it restarted\n${why()}`);
    console.log(`read endpoint: reads on the standby again ${Date.now() - startedAt} ms after it accepted connections`);
  });
});
