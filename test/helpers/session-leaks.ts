// The kinds of session state a client can leave behind, shared by the tests that check none of it
// reaches the next client (adversarial/session-state-does-not-leak, adversarial/pin-state-does-not-leak).
import type { PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { query, type ProtocolClient } from './raw-protocol.ts';
import type { TestTenant } from './tenants.ts';

/** Creates, for each tenant, a role it may SET ROLE to, a function hiding state changes in a SELECT, a sequence and probe_log. */
export async function prepareLeaks(server: PostgresServer, tenants: TestTenant[]): Promise<void> {
  for (const tenant of tenants) {
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
}

export interface Leak {
  name: string;
  /** What client A runs (one simple Query: one transaction). */
  leave: string;
  /** What client B runs; its first row's first column must equal `clean`. */
  check: string;
  clean: string | null;
}

export const LEAKS: Leak[] = [
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
export async function firstValue(c: ProtocolClient, sql: string): Promise<string | null> {
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

