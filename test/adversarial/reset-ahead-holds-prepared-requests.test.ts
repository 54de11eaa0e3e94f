// A reset sent ahead of the next request (backend/reset-ahead.ts) may still fail; until it has
// answered, nothing past the first request-ending message of what rode with it may reach the
// server (a failed reset makes PostgreSQL skip only up to the next Sync: what follows runs on the
// unreset session before the pooler's close arrives). client.ts forward holds the fast path's
// bytes — but a client that starts a prepared session (its first named Parse) while the reset is
// unanswered has its messages written by the prepared session (prepared-session.ts drain, through
// client-flow.ts toServer), which does not look at server.resetAhead.
//
// Rig: pool size 1. A leaves a session mark (set_config) and a temporary table; a superuser holds a
// lock on that table, so the DISCARD ALL sent ahead of B's first query blocks on it. B, now linked,
// sends a named Parse/Bind/Execute/Sync and then an INSERT recording the mark it sees. The blocked
// DISCARD ALL is then cancelled (a late cancel, as reset.ts anticipates): the reset fails, the
// pooler closes the connection — and B's INSERT must not have run on A's session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCARD_AHEAD } from '../../pooler/src/backend/reset-ahead.ts';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { bind, ConnectionClosed, endAll, errorCodes, execute, parse, ProtocolClient, query, rows, sync } from '../helpers/raw-protocol.ts';
import { startRecordedRig, type RecordedRig } from '../helpers/recording-proxy.ts';
import { poolerConn, superuserConn } from '../helpers/tenants.ts';

let rig: RecordedRig;

beforeAll(async () => {
  rig = await startRecordedRig('reset-ahead-prepared');
  const owner = rig.tenant.destination.user;
  await rig.pg.psql(`CREATE TABLE marks (v text); ALTER TABLE marks OWNER TO ${owner};`, rig.tenant.destination.database);
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

const conn = () => poolerConn(rig.pooler, rig.tenant);

async function waiting(n: number): Promise<void> {
  await until(() => rig.pooler.poolStats().find((p) => p.tenantId === rig.tenant.id)?.clientsWaiting === n, 10_000, `${n} client(s) waiting`);
}

describe('a reset sent ahead that has not answered', () => {
  it('holds the requests of a client that turns to named prepared statements', async () => {
    const a = await ProtocolClient.connect(conn());
    const b = await ProtocolClient.connect(conn());
    const su = await connectPg(superuserConn(rig.pg, rig.tenant.destination.database));
    try {
      // A: a temporary table (committed), then a transaction left open with a session mark.
      const opened = await a.request(query("BEGIN; CREATE TEMP TABLE held (x int); COMMIT; BEGIN; SELECT pg_backend_pid(), set_config('x.mark', 'A', false)"));
      expect(errorCodes(opened)).toEqual([]);
      const pid = Number(rows(opened)[0]![0]);
      const schema = (await su.query("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'held' AND c.relpersistence = 't'")).rows[0].nspname as string;
      await su.query('BEGIN');
      await su.query(`LOCK TABLE "${schema}".held IN ACCESS SHARE MODE`);
      // Its answer may be B's end (a FATAL, then the close): handled from the start, not only once awaited.
      const first = b.request(query("SELECT 'first'")).catch((err: unknown) => (err instanceof ConnectionClosed ? err.received : Promise.reject(err)));
      await waiting(1);
      const from = rig.proxy.log.length;
      expect(errorCodes(await a.request(query('COMMIT')))).toEqual([]);
      // The reset went ahead of B's first query and now waits for the superuser's lock.
      await until(() => rig.proxy.log.slice(from).some((r) => r.dir === 'out' && r.bytes.includes(DISCARD_AHEAD)), 10_000, 'the reset sent ahead');
      await until(
        async () => (await su.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query = 'DISCARD ALL' AND wait_event_type = 'Lock'", [pid])).rowCount === 1,
        10_000,
        'DISCARD ALL blocked',
      );
      // B, linked to the connection: a named statement (its prepared session starts), then an INSERT.
      const bClient = rig.pooler.clientList().find((c) => c.processId === b.processId)!;
      const before = bClient.bytesIn;
      const second = Buffer.concat([parse('s1', "SELECT 'second'"), bind('', 's1'), execute(), sync(), query("INSERT INTO marks VALUES (coalesce(current_setting('x.mark', true), 'clean'))")]);
      await b.send(second);
      await until(() => bClient.bytesIn >= before + second.length, 10_000, 'the pooler read B’s requests');
      // The reset fails (a cancel that lands on it): the pooler closes the connection.
      await su.query('SELECT pg_cancel_backend($1)', [pid]);
      await su.query('ROLLBACK');
      // B is told its connection was lost (an ERROR; or a FATAL, when its prepared session cannot go on).
      const replies = await first;
      expect(errorCodes(replies)).toEqual(['08006']);
      // Whatever B was told about its second batch, its INSERT ran at most on a clean session.
      await b.request(query('SELECT 1')).catch(() => undefined);
      const marks = await su.query('SELECT v FROM marks');
      expect(marks.rows.map((r: { v: string }) => r.v), 'nothing of B ran on A’s unreset session').not.toContain('A');
    } finally {
      await endQuietly(su);
      await endAll([a, b]);
      await rig.pg.psql('TRUNCATE marks', rig.tenant.destination.database);
    }
  }, 60_000);
});
