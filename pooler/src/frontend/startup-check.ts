// Checks a client's tracked start-up values (session-params.ts) the way PostgreSQL would at
// connection time. PostgreSQL applies the start-up packet's settings before ReadyForQuery and
// refuses a value it cannot apply with a FATAL (e.g. FATAL 22023 `invalid value for parameter
// "TimeZone": "Not/AZone"`), reporting the others in its own spelling ('utc' → 'UTC'). The pooler
// answers logins itself, so it has a server of the tenant's pool judge: a pooled server
// connection is checked out, the values are SET there (replies hidden, backend/reset.ts), and the
// server's error becomes the login's FATAL — or the values as the server now reports them become
// what the client is told. Without this a bad value was taken at login and every later checkout's
// SET failed, closing the server connection and re-queueing the client: a storm of server
// sessions (issue 10).
//
// The outcome is cached per pool parameter map and distinct set of values (bounded), so a login
// whose values were seen before costs nothing; a client cycling through values costs at most one
// SET on a pooled connection per login, never a new server session.
import type { Pool, PoolClient } from '../backend/pool.ts';
import { runHidden } from '../backend/reset.ts';
import type { ServerConnection } from '../backend/server.ts';
import { PoolerError } from '../errors.ts';
import { BE_ERROR_RESPONSE } from '../net/codes.ts';
import { encodeErrorFields } from '../net/extended.ts';
import { internSettings, NO_SETTINGS } from './session-settings.ts';

export type StartupCheck = { values: ReadonlyMap<string, string> } | { error: Record<string, string> };

/** Distinct sets of values remembered per pool parameter map; past that, each login checks again. */
const MAX_CACHED = 1000;
/** Server connections that may break under one check before the login fails. */
const MAX_ATTEMPTS = 3;

const cache = new WeakMap<ReadonlyMap<string, string>, Map<string, Promise<StartupCheck>>>();

/**
 * The server's verdict on `sets` (the SETs of `names`), for a pool whose servers reported
 * `serverParams`. Rejects with a PoolerError when no server connection could be had.
 */
export function checkStartupValues(
  pool: Pool,
  serverParams: ReadonlyMap<string, string>,
  check: { key: string; names: string[]; sets: string[]; settings?: string[] },
): Promise<StartupCheck> {
  let byKey = cache.get(serverParams);
  if (byKey === undefined) cache.set(serverParams, (byKey = new Map()));
  const known = byKey.get(check.key);
  if (known !== undefined) return known;
  const p = new Promise<StartupCheck>((resolve, reject) => pool.acquire(new StartupChecker(pool, check.names, check.sets, check.settings ?? [], resolve, reject)));
  if (byKey.size < MAX_CACHED) {
    byKey.set(check.key, p);
    // A check that could not run (no server connection) is not a verdict: the next login tries again.
    // Nor is a refusal of a setting beyond the tracked ones lasting: its validity may depend on
    // the database (a role, a text search configuration, a tablespace created later) or on the
    // checking connection; each such login is judged again (one hidden SET, as for a new value).
    p.then(
      (v) => {
        if ('error' in v && (check.settings?.length ?? 0) > 0) byKey.delete(check.key);
      },
      () => byKey.delete(check.key),
    );
  }
  return p;
}

class StartupChecker implements PoolClient {
  private attempts = 0;
  private readonly pool: Pool;
  private readonly names: string[];
  private readonly sets: string[];
  /** Session settings the check sets and then RESETs (startupValuesToCheck). */
  private readonly settings: string[];
  private readonly resolve: (c: StartupCheck) => void;
  private readonly reject: (err: PoolerError) => void;

  constructor(pool: Pool, names: string[], sets: string[], settings: string[], resolve: (c: StartupCheck) => void, reject: (err: PoolerError) => void) {
    this.pool = pool;
    this.names = names;
    this.sets = sets;
    this.settings = settings;
    this.resolve = resolve;
    this.reject = reject;
  }

  attachServer(server: ServerConnection): void {
    runHidden(
      server,
      this.sets,
      (outcome) => {
        // Read before the release: the connection may be handed on (and SET again) at once.
        const values = new Map(this.names.map((n) => [n, server.params.get(n) ?? '']));
        // The check RESET its settings: an idle connection that had the last client's values of
        // them (session-settings.ts restoreAfterReset) has the server defaults now. Forgotten, so
        // the next checkout of that client sets them again instead of skipping an equal map.
        if (this.settings.length > 0 && server.session !== NO_SETTINGS) {
          const reset = new Set(this.settings);
          const kept = [...server.session].filter(([n]) => !reset.has(n));
          if (kept.length < server.session.size) server.session = internSettings(this.pool, kept);
        }
        // A refused SET leaves the connection clean: it goes back to the pool either way.
        if (!server.closed) this.pool.release(server);
        if (outcome.ok) return this.resolve({ values });
        if (outcome.error !== undefined) return this.resolve({ error: outcome.error });
        if (++this.attempts < MAX_ATTEMPTS) return this.pool.acquire(this);
        this.reject(new PoolerError('SERVER_LOST', `cannot connect to the database of tenant "${this.pool.tenantId}"`, { detail: 'the server connection was lost while checking the start-up parameters' }));
      },
      undefined,
      true,
    );
  }

  checkoutFailed(err: PoolerError): void {
    this.reject(err);
  }
}

/**
 * The FATAL PostgreSQL sends at start-up for a value the SET refused: the same fields, but for a
 * client_encoding without a conversion to the database's encoding, which start-up words as its own
 * error (PostgreSQL's InitializeClientEncoding: 0A000 "conversion between X and Y is not supported").
 */
export function startupFatal(error: Record<string, string>): Buffer {
  const f: Record<string, string> = { ...error, S: 'FATAL' };
  if (f.V !== undefined) f.V = 'FATAL';
  const conversion = f.C === '0A000' && /^invalid value for parameter "client_encoding"/.test(f.M ?? '') ? /^Conversion between (\S+) and (\S+) is not supported\.$/.exec(f.D ?? '') : null;
  if (conversion !== null) {
    f.M = `conversion between ${conversion[1]} and ${conversion[2]} is not supported`;
    delete f.D;
  }
  return encodeErrorFields(BE_ERROR_RESPONSE, f);
}

/** A replayed SET the server refused, as the FATAL that ends the client (client.ts). */
export function replayFatal(error: Record<string, string>): Buffer {
  const f: Record<string, string> = { ...error, S: 'FATAL' };
  if (f.V !== undefined) f.V = 'FATAL';
  return encodeErrorFields(BE_ERROR_RESPONSE, f);
}
