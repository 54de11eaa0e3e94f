// Replica lag of one reader, measured (docs/read-endpoints.md): one probe per
// reader endpoint per pooler process, whatever the number of tenants using it. The probe keeps one
// connection to the reader (logged in with the credentials of a tenant that reads there) and asks
// it once per POLL_INTERVAL_MS, each question bounded by QUERY_TIMEOUT_MS and each connect by
// CONNECT_TIMEOUT_MS. A reader that cannot be reached, does not answer in time, or gives no figure
// has no lag (undefined): it does not qualify, and read transactions go elsewhere.
//
// The measure (PostgreSQL docs, "System Administration Functions", recovery information):
// - not in recovery (a promoted reader, or a writer listed as a reader): 0;
// - everything received is replayed (pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn()): 0.
//   now() - pg_last_xact_replay_timestamp() alone would grow on an idle primary though nothing
//   lags, as no new commit is replayed. `>=`, not `=`: a restarted standby's walreceiver reports
//   the start of the segment it streams from, behind what it has already replayed, until new WAL
//   comes (on an idle primary, up to the next standby snapshot record, ~15 s);
// - otherwise now() - pg_last_xact_replay_timestamp(): the age of the last commit replayed while
//   WAL waits to be replayed (replay paused, or behind);
// - Aurora PostgreSQL readers do not replay WAL streamed to them (shared storage): the probe asks
//   aurora_replica_status() for this instance's replica_lag_in_msec instead (AWS docs, "Aurora
//   PostgreSQL functions reference"), chosen once per connection by whether the function exists.
// What it cannot see: a standby cut off from its primary has replayed all it received, so it
// reads 0 while the writer moves on (documented).
import type { Socket } from 'node:net';
import { BE_DATA_ROW, BE_ERROR_RESPONSE, BE_READY_FOR_QUERY } from '../net/codes.ts';
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import type { Logger } from '../log.ts';
import { connectServer, type ServerTarget } from './connect.ts';

export const POLL_INTERVAL_MS = 1000;
export const QUERY_TIMEOUT_MS = 2000;
export const CONNECT_TIMEOUT_MS = 2000;
/** A figure older than this no longer counts (the probe is stuck or the reader went quiet). */
export const LAG_MAX_AGE_MS = 3 * POLL_INTERVAL_MS + QUERY_TIMEOUT_MS;
/** Credentials tried per poll when connecting fails (a tenant's role gone must not blind the probe). */
const MAX_LOGINS_PER_POLL = 3;

// Every function and operator schema-qualified: the probe logs in with a tenant's role, and a
// tenant that controls its role's search_path (ALTER ROLE ... SET search_path) could otherwise
// shadow them with its own and report a lagging reader as current to every tenant reading there.
const DETECT_SQL = "SELECT pg_catalog.to_regproc('pg_catalog.aurora_replica_status') IS NOT NULL";
export const LAG_SQL =
  'SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0' +
  ' WHEN pg_catalog.pg_last_wal_replay_lsn() OPERATOR(pg_catalog.>=) pg_catalog.pg_last_wal_receive_lsn() THEN 0' +
  ' ELSE GREATEST(0, (pg_catalog.date_part(\'epoch\', pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.pg_last_xact_replay_timestamp())' +
  ' OPERATOR(pg_catalog.*) 1000)::bigint) END';
export const AURORA_LAG_SQL =
  'SELECT GREATEST(0, replica_lag_in_msec)::bigint FROM pg_catalog.aurora_replica_status()' +
  ' WHERE server_id OPERATOR(pg_catalog.=) pg_catalog.aurora_db_instance_identifier()';

export function endpointKey(e: { host: string; port: number }): string {
  return `${e.host}:${e.port}`;
}

export class ReaderLagProbe {
  readonly key: string;
  /** Last measured lag, ms; undefined while unknown (down, timed out, no answer). */
  lagMs: number | undefined;
  /** Date.now() of the last measurement. */
  measuredAt = 0;
  totalPolls = 0;
  totalPollErrors = 0;
  /** Logins to try, each the reader's host and port with a tenant's credentials (set by the book). */
  logins: readonly ServerTarget[] = [];
  private socket: Socket | undefined;
  private sql = LAG_SQL;
  private nextLogin = 0;
  private busy = false;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private readonly listeners = new Set<() => void>();
  private readonly log: Logger;
  private lastQualifiedView = '';

  constructor(key: string, logins: readonly ServerTarget[], log: Logger) {
    this.key = key;
    this.logins = logins;
    this.log = log.child({ reader: key });
    this.timer = setInterval(() => void this.poll(), POLL_INTERVAL_MS);
    this.timer.unref();
    void this.poll();
  }

  /** Is the reader within `maxLagMs` now (a fresh figure at most that far behind)? */
  qualifies(maxLagMs: number, now = Date.now()): boolean {
    return this.lagMs !== undefined && this.lagMs <= maxLagMs && now - this.measuredAt <= LAG_MAX_AGE_MS;
  }

  /** Told after every poll whose outcome may change which readers qualify. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.dropSocket();
    this.listeners.clear();
  }

  private async poll(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.totalPolls++;
    try {
      if (this.socket === undefined) await this.connect();
      if (this.socket !== undefined && !this.stopped) {
        const v = await runScalar(this.socket, this.sql, QUERY_TIMEOUT_MS);
        const n = v === null ? NaN : Number(v);
        this.set(Number.isFinite(n) ? n : undefined);
      }
    } catch (err) {
      this.totalPollErrors++;
      // The next connect tries another tenant's login: one whose role answers with an error (a
      // tenant can break its own role) must not keep the reader "down" for everyone.
      this.nextLogin++;
      this.dropSocket();
      this.set(undefined);
      if (this.log.isLevelEnabled('debug')) this.log.debug({ err: (err as Error).message }, 'replica lag probe failed');
    } finally {
      this.busy = false;
    }
  }

  private async connect(): Promise<void> {
    const logins = this.logins;
    if (logins.length === 0) throw new Error('no login to probe the reader with');
    let last: unknown;
    for (let i = 0; i < Math.min(MAX_LOGINS_PER_POLL, logins.length); i++) {
      const target = logins[this.nextLogin++ % logins.length]!;
      try {
        // No tenant schema (search_path) on the probe's session.
        const hs = await connectServer({ ...target, schema: undefined, applicationName: 'switchyard lag probe' }, CONNECT_TIMEOUT_MS);
        if (this.stopped) {
          hs.socket.destroy();
          return;
        }
        this.nextLogin--; // keep using the login that worked
        const socket = hs.socket;
        socket.on('error', () => undefined);
        // The reader going away (stopped, crashed) counts at once, not at the next poll.
        socket.once('close', () => {
          if (this.socket !== socket) return;
          this.socket = undefined;
          this.set(undefined);
        });
        this.socket = socket;
        this.sql = (await runScalar(socket, DETECT_SQL, QUERY_TIMEOUT_MS)) === 't' ? AURORA_LAG_SQL : LAG_SQL;
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  private set(lagMs: number | undefined): void {
    this.lagMs = lagMs;
    this.measuredAt = Date.now();
    // Tell the routers when the figure moved across anything they may compare it with: every
    // change of "known or not", and every change of the value (cheap: a handful of routers).
    const view = lagMs === undefined ? 'down' : String(lagMs);
    if (view === this.lastQualifiedView) return;
    this.lastQualifiedView = view;
    for (const fn of this.listeners) {
      try {
        fn();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'replica lag listener failed');
      }
    }
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined && !s.destroyed) {
      if (s.writable) s.end(msg.terminate());
      s.destroySoon();
    }
  }
}

/**
 * Runs one simple Query on an idle connection and resolves with the first column of its first
 * row (null for SQL NULL); rejects on an ErrorResponse, a timeout or the connection going away.
 */
export function runScalar(socket: Socket, sql: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const framer = new MessageFramer(64 * 1024);
    let value: string | null = null;
    let error: Error | undefined;
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      if (err !== undefined) reject(err);
      else resolve(value);
    };
    const onClose = (): void => done(new Error('the reader closed the connection'));
    const onData = (chunk: Buffer): void => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m; m = framer.next()) {
          if (m.type === BE_DATA_ROW) value = firstColumn(m.body);
          else if (m.type === BE_ERROR_RESPONSE) error = new Error('the reader refused the lag query');
          else if (m.type === BE_READY_FOR_QUERY) return done(error);
        }
      } catch (err) {
        done(err as Error);
      }
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(msg.query(sql));
  });
}

function firstColumn(body: Buffer): string | null {
  if (body.length < 6 || body.readInt16BE(0) < 1) return null;
  const len = body.readInt32BE(2);
  if (len < 0 || body.length < 6 + len) return null;
  return body.toString('utf8', 6, 6 + len);
}

/**
 * The probes of one pooler process, one per reader endpoint; sync() after every reload gives each
 * the logins it may use and stops the probes no tenant reads from any more.
 */
export class ReaderLagBook {
  private readonly probes = new Map<string, ReaderLagProbe>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** `logins`: per reader endpoint key, the targets (tenant credentials at that endpoint) to probe with. */
  sync(logins: ReadonlyMap<string, ServerTarget[]>): void {
    for (const [key, probe] of this.probes) {
      if (!logins.has(key)) {
        probe.stop();
        this.probes.delete(key);
      }
    }
    for (const [key, list] of logins) {
      let probe = this.probes.get(key);
      if (probe === undefined) {
        probe = new ReaderLagProbe(key, list, this.log);
        this.probes.set(key, probe);
      }
      probe.logins = list;
    }
  }

  get(key: string): ReaderLagProbe | undefined {
    return this.probes.get(key);
  }

  all(): Iterable<ReaderLagProbe> {
    return this.probes.values();
  }

  close(): void {
    for (const p of this.probes.values()) p.stop();
    this.probes.clear();
  }
}
