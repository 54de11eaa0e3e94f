// When a transaction ends while another client waits for the connection, the DISCARD ALL between
// them goes to PostgreSQL in the same write as the waiting client's request (backend/reset-ahead.ts)
// instead of a round trip of its own. What must hold, seen on the wire by a proxy between the
// pooler and PostgreSQL (test/helpers/recording-proxy.ts), pool size 1:
// - the reset and the next request travel in one write, and the next client finds nothing of the
//   last one's session (a setting made with set_config, a temporary table, an advisory lock);
// - a reset that fails (the last client set statement_timeout to 1 ms where the pooler cannot see
//   it, then left 1,000 temporary tables for DISCARD ALL to drop) runs nothing of the next client
//   on the unreset session: its request is skipped with the reset, and it is told 08006;
// - what the next client sends while the reset has not answered yet is held until it has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCARD_AHEAD } from '../../pooler/src/backend/reset-ahead.ts';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { endAll, errorCodes, ProtocolClient, query, rows } from '../helpers/raw-protocol.ts';
import { startRecordedRig, type RecordedRig } from '../helpers/recording-proxy.ts';
import { poolerConn, superuserConn } from '../helpers/tenants.ts';

let rig: RecordedRig;

beforeAll(async () => {
  rig = await startRecordedRig('reset-ahead');
  const owner = rig.tenant.destination.user;
  await rig.pg.psql(`CREATE TABLE marks (v text); ALTER TABLE marks OWNER TO ${owner};`, rig.tenant.destination.database);
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

const conn = () => poolerConn(rig.pooler, rig.tenant);

/** The writes to PostgreSQL from `from` on that held the reset sent ahead. */
function aheadWrites(from: number): Buffer[] {
  return rig.proxy.log.slice(from).filter((r) => r.dir === 'out' && r.bytes.includes(DISCARD_AHEAD)).map((r) => r.bytes);
}

/** Waits until `n` clients queue for the tenant's connection. */
async function waiting(n: number): Promise<void> {
  await until(() => rig.pooler.poolStats().find((p) => p.tenantId === rig.tenant.id)?.clientsWaiting === n, 10_000, `${n} client(s) waiting`);
}

describe('the reset sent ahead of the next request', () => {
  it('travels with it in one write, and the next client finds a clean session', async () => {
    const a = await ProtocolClient.connect(conn());
    const b = await ProtocolClient.connect(conn());
    try {
      await a.request(query('SELECT 1'));
      const from = rig.proxy.log.length;
      const begun = await a.request(
        query("BEGIN; SELECT set_config('search_path', 'pg_catalog', false), pg_advisory_lock(42); CREATE TEMP TABLE left_behind (x int)"),
      );
      expect(errorCodes(begun)).toEqual([]);
      const sql = "SELECT current_setting('search_path') || '|' || (to_regclass('pg_temp.left_behind') IS NULL) || '|' || (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())";
      const answer = b.request(query(sql));
      await waiting(1);
      expect(errorCodes(await a.request(query('COMMIT')))).toEqual([]);
      const replies = await answer;
      expect(errorCodes(replies)).toEqual([]);
      expect(rows(replies)).toEqual([['"$user", public|true|0']]);
      const ahead = aheadWrites(from);
      expect(ahead.length, 'writes holding the reset sent ahead').toBe(1);
      expect(ahead[0]!.indexOf(DISCARD_AHEAD), 'the reset first').toBe(0);
      expect(ahead[0]!.includes(query(sql)), 'the waiting client’s request in the same write').toBe(true);
      // Between A's COMMIT and B's request, no DISCARD ALL of its own (the one after B's
      // transaction, with nobody waiting, is).
      const log = rig.proxy.log.slice(from);
      const commitAt = log.findIndex((r) => r.dir === 'out' && r.bytes.includes(query('COMMIT')));
      const aheadAt = log.findIndex((r) => r.dir === 'out' && r.bytes.includes(DISCARD_AHEAD));
      const between = log.slice(commitAt + 1, aheadAt).filter((r) => r.dir === 'out');
      expect(commitAt).toBeGreaterThanOrEqual(0);
      expect(between.length, 'no write of its own between A’s COMMIT and B’s request').toBe(0);
    } finally {
      await endAll([a, b]);
    }
  });

  it('that fails runs nothing of the next client on the unreset session', async () => {
    const a = await ProtocolClient.connect(conn());
    const b = await ProtocolClient.connect(conn());
    const su = await connectPg(superuserConn(rig.pg, rig.tenant.destination.database));
    try {
      const from = rig.proxy.log.length;
      // One statement (its own transaction): 1,000 temporary tables, a pause while B queues, then a
      // 1 ms statement_timeout the pooler cannot see (a SELECT's tag). DISCARD ALL then times out.
      const left = a.request(
        query(
          "DO $$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE TEMP TABLE t%s (x int)', i); END LOOP; PERFORM pg_sleep(0.5); PERFORM set_config('statement_timeout', '1', false); END $$",
        ),
      );
      await until(async () => (await su.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'DO $$%' AND wait_event = 'PgSleep'")).rowCount === 1, 20_000, 'A sleeps');
      const first = b.request(query("INSERT INTO marks VALUES (current_setting('statement_timeout'))"));
      await waiting(1);
      expect(errorCodes(await left)).toEqual([]);
      const replies = await first;
      expect(aheadWrites(from).length, 'the reset went ahead of B’s request').toBe(1);
      // Told the server connection was lost (its request never ran), and it goes on.
      expect(errorCodes(replies)).toEqual(['08006']);
      expect(errorCodes(await b.request(query("INSERT INTO marks VALUES (current_setting('statement_timeout'))")))).toEqual([]);
      const marks = await su.query('SELECT v FROM marks ORDER BY v');
      expect(marks.rows.map((r: { v: string }) => r.v), 'B ran once, under its own settings').toEqual(['0']);
    } finally {
      await endAll([a, b]);
      await endQuietly(su);
      await rig.pg.psql('TRUNCATE marks', rig.tenant.destination.database);
    }
  }, 60_000);

  it('holds what the next client sends until it has answered', async () => {
    const a = await ProtocolClient.connect(conn());
    const b = await ProtocolClient.connect(conn());
    try {
      await a.request(query('BEGIN'));
      const from = rig.proxy.log.length;
      const firstSql = "SELECT 'first'";
      const secondSql = "SELECT 'second'";
      const first = b.request(query(firstSql));
      await waiting(1);
      // PostgreSQL's answers to the write that holds the reset reach the pooler 600 ms late.
      rig.proxy.holdAnswers = { when: (bytes) => bytes.includes(DISCARD_AHEAD), ms: 600 };
      expect(errorCodes(await a.request(query('COMMIT')))).toEqual([]);
      await until(() => aheadWrites(from).length === 1, 10_000, 'the reset sent ahead');
      await new Promise((r) => setTimeout(r, 100));
      await b.send(query(secondSql));
      const replies = [...(await first), ...(await b.untilReady())];
      expect(rows(replies)).toEqual([['first'], ['second']]);
      const log = rig.proxy.log.slice(from);
      const aheadAt = log.findIndex((r) => r.dir === 'out' && r.bytes.includes(DISCARD_AHEAD));
      const answeredAt = log.findIndex((r, i) => i > aheadAt && r.dir === 'in');
      const secondAt = log.findIndex((r) => r.dir === 'out' && r.bytes.includes(query(secondSql)));
      expect(aheadAt).toBeGreaterThanOrEqual(0);
      expect(secondAt, 'the second request went to PostgreSQL only once the reset had answered').toBeGreaterThan(answeredAt);
    } finally {
      rig.proxy.holdAnswers = null;
      await endAll([a, b]);
    }
  });
});
