// Pinning (issue 14 item 4): session state that cannot be replayed on another server connection —
// temporary tables, WITH HOLD cursors, and where the tenant asks for it session advisory locks and
// SET ROLE / SET SESSION AUTHORIZATION — keeps its client on its server connection (as in session
// mode) until the state is gone, instead of being wiped at the end of the transaction.
//
// Found without a round trip of its own: for a tenant with pinning on, the reset after a
// transaction is one simple Query — an implicit transaction block, all or nothing (protocol docs,
// "Multiple Statements in a Simple Query") — that begins with a probe and goes on with DISCARD
// ALL's documented equivalent (PostgreSQL docs, DISCARD: "CLOSE ALL; SET SESSION AUTHORIZATION
// DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD PLANS;
// DISCARD TEMP; DISCARD SEQUENCES"; DISCARD ALL itself cannot run in a transaction block). When
// state to keep exists the probe raises an error — current_setting() of a name no client can
// create ("sy-pin:<reason>": set_config refuses such a name) — which skips the rest of the Query:
// nothing is reset, and the pooler reads the reason from the error. Anything else that fails in the
// reset closes the server connection, as before.
//
// The probe is kept cheap (measured, docs/transaction-mode.md): pg_my_temp_schema() <> 0 needs no
// catalog read; only a session that has a temporary schema (it created a temporary table at some
// time) gets the full check (temporary relations in pg_class), in a second round trip; pg_cursors
// is read only after a DECLARE CURSOR (the only way to make a WITH HOLD cursor: SPI refuses
// DECLARE, so a function cannot hide one); pg_locks (costly: it copies the whole lock table) only
// for tenants with pin_advisory_locks.
import type { ServerConnection } from '../backend/server.ts';

export const PIN_REASONS = ['temp_table', 'held_cursor', 'advisory_lock', 'role'] as const;
export type PinReason = (typeof PIN_REASONS)[number];
/** The first probe's verdict for a session with a temporary schema: check it fully. */
export type ProbeVerdict = PinReason | 'temp_schema';

/** What a tenant pins (from its pool settings). */
export interface PinPolicy {
  /** Clients that may be pinned at once; 0 = pinning off. */
  readonly max: number;
  readonly advisory: boolean;
  /** The server login user, when SET ROLE / SESSION AUTHORIZATION pin; null otherwise. */
  readonly role: string | null;
}

/** DISCARD ALL's equivalent, statement by statement (it may run in a transaction block). */
export const RESET_PARTS =
  'CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES';

const PREFIX = 'sy-pin:';

function raise(reason: ProbeVerdict): string {
  return `pg_catalog.current_setting('${PREFIX}${reason}')`;
}

function literal(value: string): string {
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

const probes = new Map<string, string>();

/**
 * The probe: a SELECT that raises "sy-pin:<reason>" when the session holds state to keep.
 * `full`: the temporary schema's relations are checked (else its mere existence is reported as
 * temp_schema); `cursors`: pg_cursors is read.
 */
export function probeQuery(policy: PinPolicy, full: boolean, cursors: boolean): string {
  const key = `${full ? 1 : 0}${cursors ? 1 : 0}${policy.advisory ? 1 : 0}${policy.role ?? '\u0000'}`;
  let sql = probes.get(key);
  if (sql !== undefined) return sql;
  const whens = [
    full
      ? `WHEN pg_catalog.pg_my_temp_schema() <> 0 AND EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()) THEN ${raise('temp_table')}`
      : `WHEN pg_catalog.pg_my_temp_schema() <> 0 THEN ${raise('temp_schema')}`,
  ];
  if (cursors) whens.push(`WHEN EXISTS (SELECT FROM pg_catalog.pg_cursors) THEN ${raise('held_cursor')}`);
  if (policy.advisory) whens.push(`WHEN EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()) THEN ${raise('advisory_lock')}`);
  if (policy.role !== null) whens.push(`WHEN session_user <> current_user OR session_user <> ${literal(policy.role)} THEN ${raise('role')}`);
  sql = `SELECT CASE ${whens.join(' ')} END`;
  if (probes.size < 1000) probes.set(key, sql);
  return sql;
}

const REASON = /^unrecognized configuration parameter "sy-pin:([a-z_]+)"$/;

/** The probe's verdict in a reset's error, or null when the error is not the probe's. */
export function probeVerdict(error: Record<string, string>): ProbeVerdict | null {
  if (error.C !== '42704') return null;
  const m = REASON.exec(error.M ?? '');
  if (m === null) return null;
  const r = m[1]!;
  return r === 'temp_schema' || (PIN_REASONS as readonly string[]).includes(r) ? (r as ProbeVerdict) : null;
}

/** How a transaction-mode release asks the reset to look for state to keep (backend/reset.ts). */
export interface PinProbe {
  readonly policy: PinPolicy;
  /** The full temporary-table check from the start (the client is pinned for a temporary table). */
  readonly full: boolean;
  /** pg_cursors is read (a DECLARE CURSOR ran, or the client is pinned for a cursor). */
  readonly cursors: boolean;
  /** State to keep was found: the connection was not reset and is not released (the caller keeps it). */
  pinned(server: ServerConnection, reason: PinReason): void;
  /** No state to keep: the connection was reset and released; or (`lost`) the reset failed and it was closed. */
  clean(lost: boolean): void;
}

