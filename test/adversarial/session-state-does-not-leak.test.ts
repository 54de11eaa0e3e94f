// Nothing one client leaves in its server session reaches the next client (issue 10, item 5).
// Pool size 1, so the next client gets the very same backend (checked by pid). Client A leaves a
// piece of session state behind — openly (SET ROLE, PREPARE, LISTEN is refused anyway) or hidden
// where the pooler cannot see it (set_config in a SELECT, a DO block, a function) — and client B
// must find none of it. Transaction mode: A stays connected, B runs right after A's transaction.
// Session mode: A leaves, and its server connection goes to B (DISCARD ALL, as before).
import { describe, expect, it } from 'vitest';
import { MODES, poolerPerMode } from '../helpers/pooler-per-mode.ts';
import { bind, endAll, errorFields, execute, parse, ProtocolClient, query, rows, sync } from '../helpers/raw-protocol.ts';

const { tenants, pooled } = poolerPerMode('leak', { transaction: 1, session: 1 }, async (server, t) => {
  for (const tenant of Object.values(t)) {
    const owner = tenant.destination.user;
    // A role the tenant's role may SET ROLE to, and a function hiding state changes in a SELECT.
    await server.psql(`CREATE ROLE ${owner}_other NOLOGIN; GRANT ${owner}_other TO ${owner}`);
    await server.psql(
      `CREATE FUNCTION hide_lock() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_lock(7); RETURN 1; END $$;` +
        `ALTER FUNCTION hide_lock() OWNER TO ${owner}; CREATE SEQUENCE seq; ALTER SEQUENCE seq OWNER TO ${owner};` +
          `CREATE TABLE probe_log (clean bool, pid int); ALTER TABLE probe_log OWNER TO ${owner}`,
      tenant.destination.database,
    );
  }
});

interface Leak {
  name: string;
  /** What client A runs (one simple Query: one transaction). */
  leave: string;
  /** What client B runs; its first row's first column must equal `clean`. */
  check: string;
  clean: string | null;
}

const LEAKS: Leak[] = [
  { name: 'SET ROLE', leave: 'SET ROLE {owner}_other', check: 'SELECT current_user = session_user', clean: 't' },
  { name: 'SET ROLE through set_config in a SELECT', leave: "SELECT set_config('role', '{owner}_other', false)", check: 'SELECT current_user = session_user', clean: 't' },
  // Kept for client A (issue 14: its settings follow it) and put back on the connection after the
  // reset, so B's checkout must take them away.
  { name: 'SET (kept for the client that set it)', leave: 'SET statement_timeout = 4321', check: 'SHOW statement_timeout', clean: '0' },
  { name: 'SET search_path (kept for the client that set it)', leave: 'SET search_path TO pg_catalog', check: 'SHOW search_path', clean: '"$user", public' },
  { name: 'SET of a custom setting (kept for the client that set it)', leave: "SET app.user_id = 'alice'", check: "SELECT coalesce(current_setting('app.user_id', true), '')", clean: '' },
  { name: 'set_config(..., false) in a SELECT', leave: "SELECT set_config('statement_timeout', '4321', false)", check: 'SHOW statement_timeout', clean: '0' },
  { name: 'a custom setting in a SELECT', leave: "SELECT set_config('app.user_id', 'alice', false)", check: "SELECT coalesce(current_setting('app.user_id', true), '')", clean: '' },
  { name: 'SET inside a DO block', leave: "DO $$ BEGIN EXECUTE 'SET search_path TO pg_catalog'; END $$", check: 'SHOW search_path', clean: '"$user", public' },
  { name: 'an advisory lock', leave: 'SELECT pg_advisory_lock(42)', check: "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()", clean: '0' },
  { name: 'an advisory lock taken inside a function', leave: 'SELECT hide_lock()', check: "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()", clean: '0' },
  { name: 'a temporary table', leave: 'CREATE TEMP TABLE leak_t (x int)', check: "SELECT to_regclass('pg_temp.leak_t') IS NULL", clean: 't' },
  { name: 'a temporary table created in a DO block', leave: "DO $$ BEGIN EXECUTE 'CREATE TEMP TABLE leak_d (x int)'; END $$", check: "SELECT to_regclass('pg_temp.leak_d') IS NULL", clean: 't' },
  { name: 'SQL PREPARE', leave: 'PREPARE leak_p AS SELECT 1', check: 'SELECT count(*) FROM pg_prepared_statements WHERE from_sql', clean: '0' },
  { name: 'SQL PREPARE in a DO block', leave: "DO $$ BEGIN EXECUTE 'PREPARE leak_q AS SELECT 1'; END $$", check: 'SELECT count(*) FROM pg_prepared_statements WHERE from_sql', clean: '0' },
  { name: 'LISTEN in a DO block', leave: "DO $$ BEGIN EXECUTE 'LISTEN leak_channel'; END $$", check: 'SELECT count(*) FROM pg_listening_channels()', clean: '0' },
  { name: 'a cursor WITH HOLD', leave: 'BEGIN; DECLARE leak_c CURSOR WITH HOLD FOR SELECT 1; COMMIT', check: 'SELECT count(*) FROM pg_cursors', clean: '0' },
  { name: 'a sequence’s currval', leave: "SELECT nextval('seq')", check: "SELECT count(*) FROM (SELECT lastval()) s", clean: 'error 55000' },
];

/** The first column of the first row, or `error <SQLSTATE>` when B's query fails. */
async function firstValue(c: ProtocolClient, sql: string): Promise<string | null> {
  const msgs = await c.request(query(sql));
  const err = msgs.find((m) => m.type === 'E');
  if (err !== undefined) {
    const code = /C([0-9A-Z]{5})\0/.exec(err.body.toString('latin1'))?.[1];
    return `error ${code}`;
  }
  const row = msgs.find((m) => m.type === 'D');
  if (row === undefined) return null;
  const len = row.body.readInt32BE(2);
  return len < 0 ? null : row.body.toString('utf8', 6, 6 + len);
}

describe.each(MODES)('%s mode', (mode) => {
  it.each(LEAKS)('$name does not reach the next client', async (leak) => {
    const t = tenants[mode];
    const owner = t.destination.user;
    const a = await ProtocolClient.connect(pooled(t));
    let b: ProtocolClient | undefined;
    try {
      const pidA = await firstValue(a, 'SELECT pg_backend_pid()');
      const left = await a.request(query(leak.leave.replaceAll('{owner}', owner)));
      const err = left.find((m) => m.type === 'E');
      expect(err, `client A's statement failed: ${err?.body.toString('latin1')}`).toBeUndefined();
      if (mode === 'session') await a.end();
      b = await ProtocolClient.connect(pooled(t));
      expect(await firstValue(b, 'SELECT pg_backend_pid()'), 'the same server connection (pool size 1)').toBe(pidA);
      expect(await firstValue(b, leak.check)).toBe(leak.clean);
    } finally {
      await endAll([a, b]);
    }
  });
});

describe('transaction mode', () => {
  it('a tracked SET by one client is not the default a later login is told', async () => {
    const t = tenants.transaction;
    const a = await ProtocolClient.connect(pooled(t));
    const before = a.params.get('DateStyle');
    // A's SET is in force on the server connection while B logs in (A's transaction is open).
    await a.simple("BEGIN; SET DateStyle = 'SQL, DMY'");
    const b = await ProtocolClient.connect(pooled(t), { application_name: 'a_later_login' });
    try {
      expect(b.params.get('DateStyle'), 'DateStyle B was told at login').toBe(before);
      await a.simple('COMMIT');
      expect(await b.simple('SHOW DateStyle')).toEqual([[before]]);
    } finally {
      await endAll([a, b]);
    }
  });

  it('a reset that fails ends the backend before the next client’s requests run', async () => {
    // Client A leaves 3000 temporary tables and a statement_timeout of 20 ms: the reset's DISCARD
    // ALL (dropping the tables) runs past the timeout and fails. Client B's two pipelined requests,
    // sent right behind the reset, must not run on A's session: B gets an error (the server
    // connection was lost) or a fresh session, never A's tables.
    const t = tenants.transaction;
    const a = await ProtocolClient.connect(pooled(t));
    const b = await ProtocolClient.connect(pooled(t));
    try {
      const pidA = (await a.simple('SELECT pg_backend_pid()'))[0]![0]!;
      await a.simple("DO $$ BEGIN FOR i IN 1..3000 LOOP EXECUTE format('CREATE TEMP TABLE a_temp_%s (id int)', i); END LOOP; END $$; SET statement_timeout = '20ms'");
      // Each request records where it ran: a request on A's session would show even if its reply
      // never reached B (the pooler drops a failed connection's remaining replies).
      const probe = (): Buffer[] => [parse('', "INSERT INTO probe_log SELECT to_regclass('pg_temp.a_temp_1') IS NULL, pg_backend_pid()"), bind('', ''), execute(), sync()];
      const msgs = await b.request(...probe(), ...probe());
      for (const e of msgs.filter((m) => m.type === 'E')) expect(errorFields(e.body).C).toBe('08006');
      const log = await b.simple('SELECT clean::text, pid::text FROM probe_log');
      expect(log.map((r) => r[0]), 'a request of B ran on A’s session').not.toContain('false');
      expect(log.map((r) => r[1]), 'a request of B ran on A’s backend').not.toContain(pidA);
      // B's session goes on, on a fresh server connection.
      expect(await b.simple("SELECT to_regclass('pg_temp.a_temp_1') IS NULL")).toEqual([['t']]);
    } finally {
      await endAll([a, b]);
    }
  });

  it('the prepared statements the pooler keeps still work after a client’s state was reset', async () => {
    // Named statements (tracked mode) live on the server connection; a reset between clients
    // must not leave the pooler believing in statements the server dropped.
    const t = tenants.transaction;
    const a = await ProtocolClient.connect(pooled(t));
    const b = await ProtocolClient.connect(pooled(t));
    try {
      for (let round = 0; round < 3; round++) {
        for (const c of [a, b]) {
          const name = `s_${round}`;
          const msgs = await c.request(parse(name, 'SELECT $1::int + 1', [23]), bind('', name, ['41']), execute(), sync());
          expect(msgs.map((m) => m.type).join(''), 'no error').not.toContain('E');
          // Hidden state too, so every release resets.
          await c.simple("SELECT set_config('app.x', 'y', false)");
          const again = await c.request(bind('', name, ['1']), execute(), sync());
          expect(again.map((m) => m.type).join('')).not.toContain('E');
        }
      }
    } finally {
      await endAll([a, b]);
    }
  });
});
