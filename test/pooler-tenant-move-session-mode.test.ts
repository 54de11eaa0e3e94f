// Moving a session-mode tenant (issue 12, "Move a tenant"): a session keeps its server connection
// until it ends, so a client connected before the move stays on the old destination (its
// session state, temp tables and prepared statements with it) while new clients land on the new
// one; when the old client disconnects, its server connection is closed (retired), not reused.
// The move here changes database, role and password at once (PATCH with clusterId, database,
// user, password), from server "blue" to server "green".
import { describe, expect, it } from 'vitest';
import { backgroundErrorsOf, connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createMoveDestination, createTenantViaApi, moveTenant, sessionsOf, useMoveRig } from './helpers/move-rig.ts';
import type { ConnSettings, Destination } from './helpers/tenants.ts';

const TENANT = 'sessions';

let blueDest: Destination;
let greenDest: Destination;
let client: Omit<ConnSettings, 'host' | 'port'>;
const env = useMoveRig(async (r) => {
  blueDest = await createMoveDestination(r.blue, 'sess_blue');
  greenDest = await createMoveDestination(r.green, 'sess_green');
  client = await createTenantViaApi(r.cp, { tenantId: TENANT, clusterId: 'blue', destination: blueDest, pool: { mode: 'session', size: 4, checkoutTimeout: 60, connectTimeout: 10 } });
});

interface Where {
  db: string;
  role: string;
  port: number;
}

async function whereIs(c: PgClient): Promise<Where> {
  const r = await c.query<Where>('SELECT current_database() AS db, current_user AS role, inet_server_port() AS port');
  return r.rows[0]!;
}

describe('moving a session-mode tenant', () => {
  it('keeps an open session on the old destination until it ends; new sessions go to the new one; the old server connection is then closed', async () => {
    const r = env.rig;
    const conn: ConnSettings = { host: r.pooler.host, port: r.pooler.port, ...client };
    const opened: PgClient[] = [];
    env.atEnd(() => Promise.all(opened.map((c) => endQuietly(c))));
    const old = await connectPg(conn, { application_name: 'old-session' });
    opened.push(old);
    const blue: Where = { db: blueDest.database, role: blueDest.user, port: r.blue.port };
    expect(await whereIs(old)).toEqual(blue);
    await old.query('CREATE TEMP TABLE session_state (v int)');
    await old.query('INSERT INTO session_state VALUES (1)');

    const res = await moveTenant(r.cp, TENANT, 1, { clusterId: 'green', database: greenDest.database, user: greenDest.user, password: greenDest.password });
    expect(res.status, JSON.stringify(res.body)).toBe(200);

    // New sessions land on green once the pooler has reloaded (a session opened before that is on
    // blue and is closed again at once).
    const green: Where = { db: greenDest.database, role: greenDest.user, port: r.green.port };
    let fresh: PgClient | undefined;
    await until(
      async () => {
        const c = await connectPg(conn, { application_name: 'new-session' });
        if ((await whereIs(c)).port === r.green.port) {
          fresh = c;
          return true;
        }
        await c.end();
        return false;
      },
      60_000,
      'a new session on green',
    );
    opened.push(fresh!);
    expect(await whereIs(fresh!)).toEqual(green);

    // The session opened before the move is still on blue, with its state, and works as before.
    for (let i = 0; i < 10; i++) expect(await whereIs(old)).toEqual(blue);
    await old.query('BEGIN');
    await old.query('INSERT INTO session_state VALUES (2)');
    await old.query('COMMIT');
    expect((await old.query('SELECT count(*)::int AS n FROM session_state')).rows[0]).toEqual({ n: 2 });
    // Only this session's server connection is left on blue (sessions opened while the reload
    // was on its way are closed; their backends exit shortly after).
    await until(async () => (await sessionsOf(r.blue, blueDest.user)) === 1, 60_000, 'only the old session left on blue');

    // When it ends, its server connection is closed, not kept for another session.
    await old.end();
    await until(async () => (await sessionsOf(r.blue, blueDest.user)) === 0, 60_000, 'the old session\'s server connection closed on blue');
    const next = await connectPg(conn, { application_name: 'next-session' });
    opened.push(next);
    expect(await whereIs(next)).toEqual(green);
    expect(opened.flatMap((c) => backgroundErrorsOf(c).map((e) => e.message))).toEqual([]);
  }, 240_000);
});
