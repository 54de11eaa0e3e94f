// The blue/green recipe of docs/deploy.md ("Recipe: moving a tenant's data between clusters"),
// end to end on two real PostgreSQL servers, under a write load through a real pooler process:
// the tenant's database is copied from blue to green by logical replication (publication /
// subscription) while clients keep writing on blue; then the paused cut-over: PAUSE the tenant
// on the pooler's admin console, wait until green has confirmed blue's last WAL position, copy the
// sequences with the recipe's own setval query, PATCH the destination, wait until the pooler has
// applied it, RESUME.
// - No client error, no client disconnected; every acknowledged commit is on green (those written
//   on blue arrived by replication), none twice.
// - No overlap: every transaction on green began after the last commit on blue.
// - The sequence step matters: green's `id` values continue after blue's (a UNIQUE column).
// The pause length (what clients see as a wait) is printed.
import { describe, expect, it } from 'vitest';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { backgroundErrorsOf, connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createMoveDestination, createTenantViaApi, moveTenant, TxLoop, useMoveRig, writesOn } from './helpers/move-rig.ts';
import type { ConnSettings, Destination } from './helpers/tenants.ts';

const TENANT = 'medplum';
const WRITERS = 4;

let blueDest: Destination;
let admin: AdminLogin;
let client: Omit<ConnSettings, 'host' | 'port'>;
const env = useMoveRig(
  async (r) => {
    blueDest = await createMoveDestination(r.blue, 'medplum');
    // Recipe steps 1-2: the role (same password) and the schema on green, no data.
    await createMoveDestination(r.green, 'medplum', blueDest.password);
    admin = await createAdminLogin(r.blue);
    client = await createTenantViaApi(r.cp, { tenantId: TENANT, clusterId: 'blue', destination: blueDest, pool: { mode: 'transaction', size: 3, checkoutTimeout: 90, connectTimeout: 10 } });
  },
  { blue: { settings: { wal_level: 'logical' } }, poolerConfig: () => ({ admin: { users: [admin.config] } }) },
);

describe('the blue/green recipe: logical replication, then a paused cut-over with PATCH', () => {
  it('moves the data and the traffic with no client error, no lost or doubled commit and no overlap', async () => {
    const r = env.rig;
    const conn: ConnSettings = { host: r.pooler.host, port: r.pooler.port, ...client };
    const clients: PgClient[] = [];
    env.atEnd(() => Promise.all(clients.map((c) => endQuietly(c))));
    for (let i = 0; i < WRITERS; i++) clients.push(await connectPg(conn, { application_name: `medplum-${i}` }));
    const loop = new TxLoop(clients);
    let stopped = false;
    env.atEnd(() => (stopped ? undefined : loop.stop()));
    await until(() => loop.commits.length >= 40 || loop.failures.length > 0, 60_000, 'commits on blue');

    // Steps 3-4: publish on blue, subscribe on green; the initial copy, then streaming, under load.
    await r.blue.psql('CREATE PUBLICATION medplum_move FOR ALL TABLES', blueDest.database);
    await r.green.psql(
      `CREATE SUBSCRIPTION medplum_move CONNECTION 'host=${r.blue.host} port=${r.blue.port} dbname=${blueDest.database} user=${r.blue.superuser} password=${r.blue.superuserPassword}' PUBLICATION medplum_move`,
      blueDest.database,
    );
    await until(async () => (await r.green.psql("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'", blueDest.database)) === '0', 90_000, 'the initial copy on green');
    const copiedAt = loop.commits.length;
    await until(() => loop.commits.length >= copiedAt + 40 || loop.failures.length > 0, 60_000, 'more commits on blue while green follows');

    // Step 5: the cut-over.
    const pausedAt = Date.now();
    await adminRows(r.pooler, admin, `PAUSE ${TENANT}`);
    // PAUSE answers once the tenant has no server connection left: nothing is open on blue now.
    const pauseAnsweredAt = Date.now();
    const lsn = await r.blue.psql('SELECT pg_current_wal_lsn()');
    await until(
      async () => (await r.blue.psql(`SELECT confirmed_flush_lsn >= '${lsn}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'medplum_move'`)) === 't',
      60_000,
      'green to confirm blue\'s last WAL position',
    );
    const setvals = await r.blue.psql(
      "SELECT format('SELECT setval(%L, %s);', quote_ident(schemaname) || '.' || quote_ident(sequencename), coalesce(last_value, 0) + 1000) FROM pg_sequences",
      blueDest.database,
    );
    expect(setvals).toContain('writes_id_seq');
    await r.green.psql(setvals, blueDest.database);
    const res = await moveTenant(r.cp, TENANT, 1, { clusterId: 'green' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await until(async () => (await adminRows(r.pooler, admin, 'SHOW DATABASES')).some((row) => row.name === TENANT && Number(row.port) === r.green.port), 60_000, 'the pooler to apply the move');
    await adminRows(r.pooler, admin, `RESUME ${TENANT}`);
    const resumedAt = Date.now();

    await until(() => loop.failures.length > 0 || loop.allOn(r.green.port), 60_000, 'every writer committing on green');
    const greenFrom = loop.commits.length;
    await until(() => loop.commits.length >= greenFrom + 40 || loop.failures.length > 0, 60_000, 'more commits on green');
    await loop.stop();
    stopped = true;

    const why = `failures: ${loop.failures.slice(0, 5).join('\n')}\n${r.pooler.output().slice(-4000)}`;
    expect(loop.failures, why).toEqual([]);
    expect(clients.flatMap((c) => backgroundErrorsOf(c).map((e) => e.message)), why).toEqual([]);
    const onBlue = loop.commits.filter((c) => c.port === r.blue.port);
    const onGreen = loop.commits.filter((c) => c.port === r.green.port);
    expect(onBlue.length + onGreen.length).toBe(loop.commits.length);
    // No overlap, by the servers' clock: every row written on blue before PAUSE answered, every row
    // written on green after it.
    const span = await r.green.psql(
      `SELECT (SELECT extract(epoch FROM max(written_at)) * 1000 FROM writes WHERE port = ${r.blue.port}) || ' ' || (SELECT extract(epoch FROM min(written_at)) * 1000 FROM writes WHERE port = ${r.green.port})`,
      blueDest.database,
    );
    const [lastOnBlue, firstOnGreen] = span.split(' ').map(Number);
    expect(lastOnBlue).toBeLessThan(pauseAnsweredAt);
    expect(firstOnGreen).toBeGreaterThan(pauseAnsweredAt);
    // Every acknowledged commit is on green, once, with the port it reported; nothing else is.
    const key = (x: { writer: number; seq: number; port: number }) => `${x.writer}:${x.seq}@${x.port}`;
    const stored = await writesOn(r.green, blueDest.database);
    expect(stored.map(key).sort()).toEqual(loop.commits.map(key).sort());
    // green's ids continue after blue's (the setval step).
    const ids = await r.green.psql('SELECT (SELECT min(id) FROM writes WHERE port = ' + r.green.port + ') > (SELECT max(id) FROM writes WHERE port = ' + r.blue.port + ')', blueDest.database);
    expect(ids).toBe('t');

    // Step 6: clean up; dropping the subscription drops blue's slot too.
    await r.green.psql('DROP SUBSCRIPTION medplum_move', blueDest.database);
    expect(await r.blue.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'medplum_move'")).toBe('0');
    console.info(
      `blue/green move with logical replication: paused ${resumedAt - pausedAt} ms (PAUSE → RESUME, what clients waited at most); ` +
        `${onBlue.length} transactions on blue, ${onGreen.length} on green, all ${loop.commits.length} on green after the move, 0 failed, 0 disconnected`,
    );
  }, 300_000);
});
