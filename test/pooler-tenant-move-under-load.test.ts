// Moving a tenant under load (issue 12, "Move a tenant"): a transaction-mode tenant on cluster
// "blue" is moved to cluster "green" (another PostgreSQL server) with PATCH /tenants/{id} while
// node-postgres clients run short write transactions through a real pooler process.
// - The PATCH carries no password: the API re-encrypts the stored one under the new context
//   { tenantId, clusterId: green }, and the pooler must decrypt it under that context to connect.
// - No client sees an error or loses its connection; every acknowledged commit is stored exactly
//   once, on the server it reported.
// - Each client switches once: after its first transaction on green, none of its transactions
//   lands on blue again (old server connections are retired: idle at once, busy at the end of
//   their transaction, pooler/src/backend/pool.ts retarget).
// - A transaction open across the move finishes on blue (its statements after the move too) and
//   commits; the client's next transaction runs on green.
// - Blue ends with no server connection of the tenant's role, while the load still runs.
// Half the writers use a named prepared statement, which must be prepared again on green.
import { describe, expect, it } from 'vitest';
import { backgroundErrorsOf, connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createMoveDestination, createTenantViaApi, moveTenant, sessionsOf, TxLoop, useMoveRig, writesOn } from './helpers/move-rig.ts';
import type { ConnSettings, Destination } from './helpers/tenants.ts';

const TENANT = 'medplum';
const WRITERS = 6;
const HELD = 99;

let blueDest: Destination;
let client: Omit<ConnSettings, 'host' | 'port'>;
const env = useMoveRig(async (r) => {
  blueDest = await createMoveDestination(r.blue, 'medplum');
  // The same role and password on green (the blue/green copy of the database): the move gives no
  // new password, so the pooler can only log in with the re-encrypted one.
  await createMoveDestination(r.green, 'medplum', blueDest.password);
  // Fewer server connections than writers: clients also wait for a checkout during the move.
  client = await createTenantViaApi(r.cp, { tenantId: TENANT, clusterId: 'blue', destination: blueDest, pool: { mode: 'transaction', size: 4, checkoutTimeout: 60, connectTimeout: 10 } });
});

describe('moving a tenant to another cluster under load (transaction mode)', () => {
  it('switches every client to the new cluster with no client error, drains the old one, and keeps every commit', async () => {
    const r = env.rig;
    const conn: ConnSettings = { host: r.pooler.host, port: r.pooler.port, ...client };
    const clients: PgClient[] = [];
    env.atEnd(() => Promise.all(clients.map((c) => endQuietly(c))));
    for (let i = 0; i < WRITERS; i++) clients.push(await connectPg(conn, { application_name: `mover-${i}` }));
    const held = await connectPg(conn, { application_name: 'held' });
    clients.push(held);

    const loop = new TxLoop(clients.slice(0, WRITERS));
    let stopped = false;
    env.atEnd(() => (stopped ? undefined : loop.stop()));
    await until(() => loop.commits.length >= 60 || loop.failures.length > 0, 60_000, 'commits on blue');
    expect(loop.failures).toEqual([]);
    expect(new Set(loop.commits.map((c) => c.port))).toEqual(new Set([r.blue.port]));

    // A transaction open across the move.
    await held.query('BEGIN');
    const before = await held.query<{ port: number }>('INSERT INTO writes (writer, seq) VALUES ($1, 0) RETURNING port', [HELD]);
    expect(before.rows[0]!.port).toBe(r.blue.port);

    const movedAt = Date.now();
    const res = await moveTenant(r.cp, TENANT, 1, { clusterId: 'green' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);

    const onGreen = (w: number) => loop.commits.some((c) => c.writer === w && c.port === r.green.port);
    await until(() => loop.failures.length > 0 || Array.from({ length: WRITERS }, (_, w) => w).every(onGreen), 60_000, 'every writer committing on green');
    const firstGreen = Math.min(...loop.commits.filter((c) => c.port === r.green.port).map((c) => c.at));
    const allGreen = Math.max(...Array.from({ length: WRITERS }, (_, w) => Math.min(...loop.commits.filter((c) => c.writer === w && c.port === r.green.port).map((c) => c.at))));

    // The open transaction is still on blue, and commits there; the next one goes to green.
    const during = await held.query<{ port: number }>('INSERT INTO writes (writer, seq) VALUES ($1, 1) RETURNING port', [HELD]);
    expect(during.rows[0]!.port).toBe(r.blue.port);
    await held.query('COMMIT');
    const after = await held.query<{ port: number }>('INSERT INTO writes (writer, seq) VALUES ($1, 2) RETURNING port', [HELD]);
    expect(after.rows[0]!.port).toBe(r.green.port);

    // Blue drains while the load goes on.
    await until(async () => (await sessionsOf(r.blue, blueDest.user)) === 0, 60_000, 'no server connection of the tenant left on blue');
    const drained = Date.now();
    const committedBeforeStop = loop.commits.length;
    await until(() => loop.commits.length >= committedBeforeStop + 60 || loop.failures.length > 0, 60_000, 'more commits on green after the drain');
    await loop.stop();
    stopped = true;

    const why = `failures: ${loop.failures.slice(0, 5).join('\n')}\n${r.pooler.output().slice(-4000)}`;
    expect(loop.failures, why).toEqual([]);
    expect(clients.flatMap((c) => backgroundErrorsOf(c).map((e) => e.message)), why).toEqual([]);
    // No transaction landed on blue after the drain.
    expect(loop.commits.filter((c) => c.at > drained && c.port !== r.green.port)).toEqual([]);
    // Each writer switched once: blue, then green, never back.
    for (let w = 0; w < WRITERS; w++) {
      const ports = loop.commits.filter((c) => c.writer === w).sort((a, b) => a.seq - b.seq).map((c) => c.port);
      const firstGreenAt = ports.indexOf(r.green.port);
      expect(firstGreenAt, `writer ${w}`).toBeGreaterThan(0);
      expect(ports.slice(firstGreenAt).every((p) => p === r.green.port), `writer ${w} went back to blue: ${ports.join(',')}`).toBe(true);
    }
    // Every acknowledged commit is stored once, on the server it reported; nothing else is stored.
    const stored = [...(await writesOn(r.blue, blueDest.database)), ...(await writesOn(r.green, blueDest.database))];
    const key = (x: { writer: number; seq: number; port: number }) => `${x.writer}:${x.seq}@${x.port}`;
    const acknowledged = [...loop.commits.map(key), `${HELD}:0@${r.blue.port}`, `${HELD}:1@${r.blue.port}`, `${HELD}:2@${r.green.port}`].sort();
    expect(stored.map(key).sort()).toEqual(acknowledged);

    console.info(
      `tenant move under load: PATCH → first commit on green ${firstGreen - movedAt} ms, every writer on green ${allGreen - movedAt} ms, ` +
        `blue drained ${drained - movedAt} ms; ${loop.commits.length} transactions committed by ${WRITERS} clients, 0 failed, 0 disconnected`,
    );
  }, 240_000);

  it('then moves it to another database and role of the same server (new password) under load, again with no client error', async () => {
    const r = env.rig;
    const v2 = await createMoveDestination(r.green, 'medplum_v2');
    const conn: ConnSettings = { host: r.pooler.host, port: r.pooler.port, ...client };
    const clients: PgClient[] = [];
    env.atEnd(() => Promise.all(clients.map((c) => endQuietly(c))));
    for (let i = 0; i < WRITERS; i++) clients.push(await connectPg(conn, { application_name: `mover-v2-${i}` }));
    // Writers 10.. so their keys never meet the first test's rows in green's medplum.
    const loop = new TxLoop(clients, 10);
    let stopped = false;
    env.atEnd(() => (stopped ? undefined : loop.stop()));
    await until(() => loop.commits.length >= 30 || loop.failures.length > 0, 60_000, 'commits in medplum on green');

    const movedAt = Date.now();
    const res = await moveTenant(r.cp, TENANT, 2, { database: v2.database, user: v2.user, password: v2.password });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const inV2 = (w: number) => loop.commits.some((c) => c.writer === w && c.db === v2.database);
    await until(() => loop.failures.length > 0 || loop.writers.every(inV2), 60_000, 'every writer committing in medplum_v2');
    await until(async () => (await sessionsOf(r.green, blueDest.user)) === 0, 60_000, 'no server connection of the old role left');
    const drained = Date.now();
    const before = loop.commits.length;
    await until(() => loop.commits.length >= before + 30 || loop.failures.length > 0, 60_000, 'more commits in medplum_v2');
    await loop.stop();
    stopped = true;

    const why = `failures: ${loop.failures.slice(0, 5).join('\n')}\n${r.pooler.output().slice(-4000)}`;
    expect(loop.failures, why).toEqual([]);
    expect(clients.flatMap((c) => backgroundErrorsOf(c).map((e) => e.message)), why).toEqual([]);
    expect(new Set(loop.commits.map((c) => c.port))).toEqual(new Set([r.green.port]));
    for (const w of loop.writers) {
      const dbs = loop.commits.filter((c) => c.writer === w).sort((a, b) => a.seq - b.seq).map((c) => c.db);
      const first = dbs.indexOf(v2.database);
      expect(first, `writer ${w}`).toBeGreaterThan(0);
      expect(dbs.slice(first).every((d) => d === v2.database), `writer ${w} went back: ${dbs.join(',')}`).toBe(true);
    }
    // Every commit is stored once, in the database it reported; nothing else of these writers is.
    const key = (x: { writer: number; seq: number }, db: string) => `${x.writer}:${x.seq}@${db}`;
    const mine = (x: { writer: number }) => loop.writers.includes(x.writer);
    const stored = [
      ...(await writesOn(r.green, blueDest.database)).filter(mine).map((x) => key(x, blueDest.database)),
      ...(await writesOn(r.green, v2.database)).map((x) => key(x, v2.database)),
    ];
    expect(stored.sort()).toEqual(loop.commits.map((c) => key(c, c.db)).sort());
    console.info(`tenant move to another database: every writer there ${Math.max(...loop.writers.map((w) => Math.min(...loop.commits.filter((c) => c.writer === w && c.db === v2.database).map((c) => c.at)))) - movedAt} ms after the PATCH, old role drained ${drained - movedAt} ms; ${loop.commits.length} transactions, 0 failed`);
  }, 240_000);
});
