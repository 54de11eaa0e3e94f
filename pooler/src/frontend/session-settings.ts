// Every session-level setting a transaction-mode client makes follows it (issue 14 item 1). The
// six ParameterStatus settings are tracked through their reports (session-params.ts); every other
// one is read from the server itself when a transaction that may have changed one ends: the query
// CAPTURE_QUERY goes first in the reset's write (backend/reset.ts), so it sees the session as the
// transaction left it — after COMMIT, ROLLBACK, ROLLBACK TO SAVEPOINT and SET LOCAL's end — and
// costs no round trip of its own. "May have changed one": a CommandComplete SET, RESET or DISCARD,
// or a ParameterStatus (reply-inspector.ts). A setting changed where no such reply shows it
// (set_config(..., false) in a SELECT, SET in a DO block or a function) is not captured: the reset
// wipes it as before, so it never reaches another client either (docs/transaction-mode.md).
//
// A client's settings are one immutable map, interned per pool (keyed by the pool object, typed `object`: no import of backend/pool.ts): clients with the same settings
// share it, and a server connection remembers the map it was given (ServerConnection.session), so
// the common checkout (same settings) compares two references. The reset gives a connection the
// last client's settings back, so the next client with the same settings needs no SET.
import { TRACKED_PARAMETERS } from './session-params.ts';

/** No session settings: shared by every client and connection that has none. */
export const NO_SETTINGS: ReadonlyMap<string, string> = new Map();

/** Session settings kept per client, and their bytes (names + values): past either, the client is refused (53400). */
export const MAX_SESSION_SETTINGS = 100;
export const MAX_SESSION_SETTINGS_BYTES = 64 * 1024;

/**
 * Not kept as session settings: the ParameterStatus ones (session-params.ts keeps those, with
 * their reports), the role settings, which the server does not list in pg_settings anyway, and
 * temp_buffers: PostgreSQL refuses to change it in a backend that has ever used a temporary table
 * (check_temp_buffers; DISCARD ALL does not undo that), so on a shared connection another client's
 * temporary table would make its replay fail and end this client (docs/transaction-mode.md).
 */
export const NOT_KEPT: ReadonlySet<string> = new Set<string>([...TRACKED_PARAMETERS, 'role', 'session_authorization', 'temp_buffers']);

/**
 * The session's own settings (pg_settings.source = 'session': SET, set_config(..., false), and
 * what the pooler itself replayed). One more row than allowed (beside the ones not kept), so an
 * excess is seen without reading hundreds. `setting` is in the GUC's base unit, which set_config
 * accepts as is. PostgreSQL lists no placeholder (a custom `x.y` no loaded module defines): those
 * are not kept (docs/transaction-mode.md).
 */
export const CAPTURE_QUERY = `SELECT name, setting FROM pg_catalog.pg_settings WHERE source = 'session' LIMIT ${MAX_SESSION_SETTINGS + 1 + NOT_KEPT.size}`;

/**
 * Not put back on an idle pooled connection by the reset (only applied at checkout): a timer that
 * acts on an idle session would end the pooled connection (idle_session_timeout); and the next
 * client's checkout Query (a SELECT set_config) would begin under default_transaction_deferrable
 * (with serializable and read only: it would wait for a safe snapshot, stalled by any serializable
 * transaction elsewhere).
 */
const CHECKOUT_ONLY: ReadonlySet<string> = new Set(['idle_session_timeout', 'default_transaction_deferrable']);

/**
 * Timeouts that strike the statements run on the idle connection (the next client's checkout
 * set_config, a login's start-up check): a value under a second is applied at checkout only, so one
 * client's `statement_timeout = 1` cannot fail another client's checkout under load. Values are in
 * the base unit pg_settings reports (ms). Longer ones are put back as any setting (no SET per checkout).
 */
const SHORT_TIMEOUTS: ReadonlySet<string> = new Set(['statement_timeout', 'lock_timeout', 'transaction_timeout']);
const SHORT_TIMEOUT_MS = 1000;

/**
 * May a connection carrying `settings` wait unreset for its client (lazy reset, backend/pool.ts
 * park)? Not with a setting kept off idle connections (checkoutOnly): the reset that another client's
 * checkout then waits for would run under it (DISCARD ALL stalled by a deferrable snapshot, or
 * cancelled by a short timeout). Cached per interned map.
 */
export function parkable(settings: ReadonlyMap<string, string>): boolean {
  if (settings === NO_SETTINGS) return true;
  let ok = parkableCache.get(settings);
  if (ok === undefined) {
    ok = true;
    for (const [name, value] of settings) if (checkoutOnly(name, value)) ok = false;
    parkableCache.set(settings, ok);
  }
  return ok;
}
const parkableCache = new WeakMap<ReadonlyMap<string, string>, boolean>();

function checkoutOnly(name: string, value: string): boolean {
  if (CHECKOUT_ONLY.has(name)) return true;
  if (!SHORT_TIMEOUTS.has(name)) return false;
  const ms = Number(value);
  return !(ms === 0 || ms >= SHORT_TIMEOUT_MS);
}

/**
 * `applicationName`: the session's own application_name (source 'session': a SET, the client's or
 * the pooler's), or null when it is at the connection's start-up value (a RESET, or never set).
 * Only the server can tell a SET to a value equal to that start-up value from a RESET
 * (reply-inspector.ts onParameterStatus).
 */
export type CaptureResult = { settings: ReadonlyMap<string, string>; applicationName: string | null } | { tooMany: string } | null;

/** Checks the captured rows against the bounds and interns them for `pool`. */
export function capturedSettings(pool: object, rows: readonly (readonly (string | null)[])[]): CaptureResult {
  const entries: [string, string][] = [];
  let bytes = 0;
  let applicationName: string | null = null;
  for (const r of rows) {
    const name = r[0];
    const value = r[1] ?? '';
    if (name === 'application_name') applicationName = value;
    if (name == null || NOT_KEPT.has(name)) continue;
    bytes += name.length + value.length;
    entries.push([name, value]);
  }
  if (entries.length > MAX_SESSION_SETTINGS) return { tooMany: `more than ${MAX_SESSION_SETTINGS} session settings` };
  if (bytes > MAX_SESSION_SETTINGS_BYTES) return { tooMany: `session settings of more than ${MAX_SESSION_SETTINGS_BYTES} bytes` };
  // Every row is in (the LIMIT leaves room for all that may be kept and all that is not).
  return { settings: internSettings(pool, entries), applicationName };
}

/**
 * Interned maps per pool, by their content; bounded in count and in bytes (past either a map is
 * used uninterned: more SETs, same result). The bytes bound matters: a map may hold 64 KiB, and
 * each interned one is kept with its key and its restore statement for the pool's life, so 1000
 * of them would let one tenant's clients pin ~180 MB (estimated: value, key and restore, 60 KiB each).
 */
const MAX_INTERNED = 1000;
const MAX_INTERNED_BYTES = 4 * 1024 * 1024;
const interned = new WeakMap<object, Map<string, ReadonlyMap<string, string>>>();
const internedBytes = new WeakMap<object, number>();

export function internSettings(pool: object, entries: [string, string][]): ReadonlyMap<string, string> {
  if (entries.length === 0) return NO_SETTINGS;
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let key = '';
  for (const [n, v] of entries) key += `${n}\u0000${v}\u0000`;
  let byKey = interned.get(pool);
  if (byKey === undefined) interned.set(pool, (byKey = new Map()));
  const known = byKey.get(key);
  if (known !== undefined) return known;
  const map: ReadonlyMap<string, string> = new Map(entries);
  const bytes = (internedBytes.get(pool) ?? 0) + key.length;
  if (byKey.size < MAX_INTERNED && bytes <= MAX_INTERNED_BYTES) {
    byKey.set(key, map);
    internedBytes.set(pool, bytes);
  }
  return map;
}

/** `settings`, plus each of `defaults` it does not have (a start-up setting back at its default), interned. */
export function withDefaults(pool: object, settings: ReadonlyMap<string, string>, defaults: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  let missing = false;
  for (const name of defaults.keys()) if (!settings.has(name)) missing = true;
  if (!missing) return settings;
  const entries = [...settings];
  for (const [n, v] of defaults) if (!settings.has(n)) entries.push([n, v]);
  return internSettings(pool, entries);
}

function literal(value: string): string {
  // E'' works whatever standard_conforming_strings is.
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * One statement list giving a connection that has `server` the settings `client`: set_config for
 * each value that differs (not SET: for a list setting such as search_path, SET takes a quoted
 * value as one element, set_config parses it as the server printed it), RESET for each setting the
 * connection has and the client has not. Empty when they agree.
 */
export function settingsToApply(client: ReadonlyMap<string, string>, server: ReadonlyMap<string, string>): string {
  if (client === server) return '';
  const sets: string[] = [];
  for (const [name, value] of client) if (server.get(name) !== value) sets.push(`pg_catalog.set_config(${literal(name)}, ${literal(value)}, false)`);
  let sql = sets.length === 0 ? '' : `SELECT ${sets.join(', ')}`;
  for (const name of server.keys()) if (!client.has(name)) sql += `${sql === '' ? '' : '; '}RESET ${ident(name)}`;
  return sql;
}

/** What the reset puts back after DISCARD ALL: the last client's settings (cached per interned map). */
const restores = new WeakMap<ReadonlyMap<string, string>, { sql: string; kept: ReadonlyMap<string, string> }>();

export function restoreAfterReset(pool: object, settings: ReadonlyMap<string, string>): { sql: string; kept: ReadonlyMap<string, string> } {
  if (settings === NO_SETTINGS) return { sql: '', kept: NO_SETTINGS };
  let r = restores.get(settings);
  if (r === undefined) {
    let kept = settings;
    for (const [name, value] of settings) {
      if (checkoutOnly(name, value)) kept = internSettings(pool, [...kept].filter(([n]) => n !== name));
    }
    r = { sql: settingsToApply(kept, NO_SETTINGS), kept };
    restores.set(settings, r);
  }
  return r;
}
