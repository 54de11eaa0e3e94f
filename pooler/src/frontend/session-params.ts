// Session parameters in transaction mode. PostgreSQL reports a few settings to the client with
// ParameterStatus (protocol docs, "Asynchronous Operations"); a client that shares server
// connections must keep seeing its own values. Each client keeps the values it was told; each
// server connection keeps the values it reported; on checkout the difference is applied with SET,
// its replies hidden (backend/reset.ts runHidden).
//
// Every other session setting follows the client through session-settings.ts (read back from the
// server after a transaction that may have changed one) (docs/transaction-mode.md).

/** The ParameterStatus settings a client may change with SET and expects to keep. */
export const TRACKED_PARAMETERS = ['client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle', 'standard_conforming_strings', 'application_name'] as const;

/** Tracked names in their own and in lower case: a start-up key spelled either way needs no new string. */
const nameToIndex = new Map<string, number>();
TRACKED_PARAMETERS.forEach((n, i) => {
  nameToIndex.set(n, i);
  nameToIndex.set(n.toLowerCase(), i);
});
const APPLICATION_NAME = TRACKED_PARAMETERS.indexOf('application_name');

/** Index of a start-up key in TRACKED_PARAMETERS, case-insensitively (GUC names are ASCII-case-insensitive). */
function trackedIndex(key: string): number | undefined {
  const i = nameToIndex.get(key);
  if (i !== undefined || !/[A-Z]/.test(key)) return i;
  return nameToIndex.get(key.toLowerCase());
}

/**
 * What a new client is told at login: the server's values, overridden by its own start-up settings
 * — in the server's spelling where `checked` has it (frontend/startup-check.ts).
 */
export function initialClientParams(
  server: ReadonlyMap<string, string>,
  startup: Readonly<Record<string, string>>,
  checked?: ReadonlyMap<string, string>,
): Map<string, string> {
  const out = new Map(server);
  const own = startupValues(startup);
  TRACKED_PARAMETERS.forEach((name, i) => {
    const v = checked?.get(name) ?? own[i];
    if (v !== undefined) out.set(name, v);
  });
  return out;
}

/**
 * The client's own tracked start-up values that differ from the server's: the SETs a server must
 * accept for the login to be valid (PostgreSQL refuses a start-up packet whose values it cannot
 * apply), their names, and a key naming them. application_name is left out: PostgreSQL takes any
 * value, and clients vary it (host names, process ids), so it must not cost a check per login.
 */
export function startupValuesToCheck(
  server: ReadonlyMap<string, string>,
  startup: Readonly<Record<string, string>>,
  session: readonly [string, string][] = [],
): { key: string; names: string[]; sets: string[]; settings: string[] } {
  const own = startupValues(startup);
  let key = '';
  const names: string[] = [];
  const sets: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const v = own[i];
    if (i === APPLICATION_NAME || v === undefined) continue;
    const name = TRACKED_PARAMETERS[i]!;
    if (v === server.get(name)) continue;
    key += `${name}\u0000${v}\u0000`;
    names.push(name);
    sets.push(setStatement(name, v));
  }
  // The other settings (startup-options.ts): set in one Query, in order (the first refusal is the
  // one PostgreSQL would report), then RESET in the next, so the checking connection keeps none.
  if (session.length > 0) {
    key += '\u0001';
    for (const [n, v] of session) key += `${n}\u0000${v}\u0000`;
    sets.push(`SELECT ${session.map(([n, v]) => `pg_catalog.set_config(${literal(n)}, ${literal(v)}, false)`).join(', ')}`);
    sets.push(session.map(([n]) => `RESET "${n.replace(/"/g, '""')}"`).join('; '));
  }
  return { key, names, sets, settings: session.map(([n]) => n) };
}

/**
 * One scratch array for startupValues: it runs once per login, and its result is used (and
 * dropped) before the next call, so a fresh array per login would be garbage only.
 */
const scratch: (string | undefined)[] = TRACKED_PARAMETERS.map(() => undefined);

/**
 * The client's own start-up value of each tracked parameter (any case), in TRACKED_PARAMETERS
 * order; undefined where it sent none. A client that sets no application_name has none (the
 * server's is the pooler's own), hence '' for it. A repeated name (in another case) keeps the
 * last value. The result is a shared scratch array, valid until the next call.
 */
function startupValues(startup: Readonly<Record<string, string>>): (string | undefined)[] {
  for (let i = 0; i < scratch.length; i++) scratch[i] = i === APPLICATION_NAME ? '' : undefined;
  for (const key in startup) {
    const i = trackedIndex(key);
    if (i !== undefined) scratch[i] = startup[key];
  }
  return scratch;
}

/**
 * initialClientParams, shared: clients whose start-up settings agree get the same read-only map
 * (ClientConnection copies it on its first change) and the same encoded ParameterStatus messages,
 * so an idle client costs no map of its own.
 */
const shared = new WeakMap<ReadonlyMap<string, string>, Map<string, { params: ReadonlyMap<string, string>; encoded: Buffer }>>();

export function sharedClientParams(
  server: ReadonlyMap<string, string>,
  startup: Readonly<Record<string, string>>,
  encode: (params: ReadonlyMap<string, string>) => Buffer,
  checked?: ReadonlyMap<string, string>,
): { params: ReadonlyMap<string, string>; encoded: Buffer } {
  // The key needs only the client's own values; the map is built once per distinct key.
  const own = startupValues(startup);
  let key = '';
  for (let i = 0; i < own.length; i++) {
    const v = own[i];
    key += v === undefined ? '\u0001\u0000' : `${v}\u0000`;
  }
  let byKey = shared.get(server);
  if (byKey === undefined) shared.set(server, (byKey = new Map()));
  let entry = byKey.get(key);
  if (entry === undefined) {
    // Bounded: distinct start-up settings are few in practice; past that, stop caching. (The
    // server's spelling of the values, `checked`, follows from the values: the key covers it.)
    const params = initialClientParams(server, startup, checked);
    entry = { params, encoded: encode(params) };
    if (byKey.size < 1000) byKey.set(key, entry);
  }
  return entry;
}

function literal(value: string): string {
  // E'' works whatever standard_conforming_strings is.
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** SET statements that give `server` the client's values, or none when they already agree. */
/**
 * `params` with `name` set to `value`: a new map on every change (SETs are rare), so a server
 * connection's `paramsFor` names an unchanging map; the same map when nothing changes.
 */
export function withParam(params: ReadonlyMap<string, string>, name: string, value: string): ReadonlyMap<string, string> {
  if (params.get(name) === value) return params;
  const next = new Map(params);
  next.set(name, value);
  return next;
}

export function settingsToApply(client: ReadonlyMap<string, string>, server: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const name of TRACKED_PARAMETERS) {
    const want = client.get(name);
    if (want !== undefined && want !== server.get(name)) out.push(setStatement(name, want));
  }
  return out;
}

function setStatement(name: string, value: string): string {
  return `SET "${name}" TO ${literal(value)}`;
}
