// Session parameters in transaction mode. PostgreSQL reports a few settings to the client with
// ParameterStatus (protocol docs, "Asynchronous Operations"); a client that shares server
// connections must keep seeing its own values. Each client keeps the values it was told; each
// server connection keeps the values it reported; on checkout the difference is applied with SET,
// its replies hidden (backend/reset.ts runHidden).
//
// Other settings changed with a session-level SET do not follow the client: the server connection
// gets RESET ALL when the transaction that ran the SET ends, so nothing leaks to the next client
// (docs/transaction-mode.md). SET LOCAL inside a transaction is unaffected.

/** The ParameterStatus settings a client may change with SET and expects to keep. */
export const TRACKED_PARAMETERS = ['client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle', 'standard_conforming_strings', 'application_name'] as const;

const lowerToIndex = new Map<string, number>(TRACKED_PARAMETERS.map((n, i) => [n.toLowerCase(), i]));

/** What a new client is told at login: the server's values, overridden by its own start-up settings. */
export function initialClientParams(server: ReadonlyMap<string, string>, startup: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map(server);
  const own = startupValues(startup);
  TRACKED_PARAMETERS.forEach((name, i) => {
    const v = own[i];
    if (v !== undefined) out.set(name, v);
  });
  return out;
}

/**
 * The client's own start-up value of each tracked parameter (any case), in TRACKED_PARAMETERS
 * order; undefined where it sent none. A client that sets no application_name has none (the
 * server's is the pooler's own), hence '' for it.
 */
function startupValues(startup: Readonly<Record<string, string>>): (string | undefined)[] {
  const out: (string | undefined)[] = TRACKED_PARAMETERS.map((n) => (n === 'application_name' ? '' : undefined));
  for (const [key, value] of Object.entries(startup)) {
    const i = lowerToIndex.get(key.toLowerCase());
    if (i !== undefined) out[i] = value;
  }
  return out;
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
): { params: ReadonlyMap<string, string>; encoded: Buffer } {
  // The key needs only the client's own values; the map is built once per distinct key.
  const own = startupValues(startup);
  const key = own.map((v) => (v === undefined ? '\u0001' : v)).join('\u0000');
  let byKey = shared.get(server);
  if (byKey === undefined) shared.set(server, (byKey = new Map()));
  let entry = byKey.get(key);
  if (entry === undefined) {
    // Bounded: distinct start-up settings are few in practice; past that, stop caching.
    const params = initialClientParams(server, startup);
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
export function settingsToApply(client: ReadonlyMap<string, string>, server: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const name of TRACKED_PARAMETERS) {
    const want = client.get(name);
    if (want !== undefined && want !== server.get(name)) out.push(`SET "${name}" TO ${literal(want)}`);
  }
  return out;
}
