// Valid frontend message sequences for each state a connection can be in, the raw material the
// mutators (mutate.ts) start from. The SQL is cheap on purpose (the destination roles also have a
// statement_timeout), but reaches every path the pooler looks into: SET/RESET/DISCARD/DEALLOCATE/
// LISTEN tags, ParameterStatus changes, errors mid-pipeline, notices, notifications, transaction
// control (savepoints, AND CHAIN), COPY both ways, named and unnamed statements and portals,
// partial Execute (PortalSuspended), Flush without Sync, FunctionCall, binary parameters.
import { Rng } from './rng.ts';
import * as f from './frontend.ts';

/** One generated frontend message (or, for `raw`, bytes that are not one): one input of the fuzzer. */
export interface Unit {
  bytes: Buffer;
  /** A start-up family packet (length at offset 0, no type byte). */
  untyped?: boolean;
}

export type State = 'startup' | 'auth' | 'idle' | 'transaction' | 'failed' | 'tracked' | 'copy-in' | 'copy-out' | 'admin';

const u = (bytes: Buffer): Unit => ({ bytes });

/** Statements without parameters; each is cheap, some fail on purpose. */
export const SIMPLE_SQL: readonly string[] = [
  'SELECT 1',
  'SELECT 1/0',
  "SELECT repeat('x', 9000)",
  'SELECT g, md5(g::text) FROM generate_series(1, 40) g',
  'SELECT 1; SELECT 2',
  'SELECT 1; SELECT 1/0; SELECT 3',
  '',
  ';',
  'SELEC 1',
  'SELECT * FROM no_such_table',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'ABORT',
  'END',
  'START TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  'BEGIN; SELECT 1',
  'SAVEPOINT fz_sp',
  'ROLLBACK TO SAVEPOINT fz_sp',
  'RELEASE SAVEPOINT fz_sp',
  'ROLLBACK AND CHAIN',
  'COMMIT AND CHAIN',
  "PREPARE TRANSACTION 'fz_gid'",
  "ROLLBACK PREPARED 'fz_gid'",
  "SET application_name = 'fz'",
  "SET TimeZone = 'Europe/Paris'",
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'SQL, DMY'",
  "SET IntervalStyle = 'iso_8601'",
  "SET client_encoding = 'LATIN1'",
  "SET client_encoding = 'UTF8'",
  'SET standard_conforming_strings = off',
  'SET search_path = public, pg_temp',
  "SET LOCAL work_mem = '1MB'",
  "SELECT set_config('application_name', 'fz2', false)",
  'RESET ALL',
  'RESET TimeZone',
  'DISCARD ALL',
  'DISCARD PLANS',
  'DEALLOCATE ALL',
  'DEALLOCATE fz_p',
  'PREPARE fz_p AS SELECT 1',
  'EXECUTE fz_p',
  'LISTEN fz_chan',
  'UNLISTEN *',
  "NOTIFY fz_chan, 'x'",
  "SELECT pg_notify('fz_chan', 'y')",
  "DO $$BEGIN RAISE NOTICE 'fz notice'; END$$",
  "DO $$BEGIN RAISE WARNING 'fz warning'; END$$",
  'CREATE TEMP TABLE IF NOT EXISTS fz_tmp (a int)',
  "INSERT INTO fz_copy VALUES (1, 'a')",
  'SELECT count(*) FROM fz_copy',
  'SHOW TimeZone',
  'SHOW ALL',
  'SELECT pg_sleep(0.01)',
  'SELECT pg_try_advisory_lock(7)',
  'SELECT pg_advisory_unlock_all()',
  'SET ROLE NONE',
  'SET SESSION AUTHORIZATION DEFAULT',
  'COPY fz_copy FROM STDIN',
  "COPY fz_copy FROM STDIN WITH (FORMAT csv)",
  'COPY fz_copy FROM STDIN WITH (FORMAT binary)',
  'COPY fz_copy TO STDOUT',
  'COPY (SELECT g FROM generate_series(1, 300) g) TO STDOUT',
  "SELECT E'\\\\x00'::bytea, 'ünïcødé'",
  'SELECT current_setting($$TimeZone$$)',
];

/** Statements with parameters, and how many. */
const PARAM_SQL: readonly (readonly [string, number])[] = [
  ['SELECT $1::int', 1],
  ['SELECT $1::text, $2::int', 2],
  ['SELECT $1::bytea', 1],
  ['SELECT length($1)', 1],
  ['INSERT INTO fz_copy VALUES ($1::int, $2)', 2],
  ['SELECT $1', 1],
  ['SET application_name = $1', 1],
];

const OIDS = [0, 16, 17, 20, 21, 23, 25, 114, 1043, 3802, 2249, 0x7fffffff];
/** Function OIDs for FunctionCall: int4abs (1397), textlen (1257), pg_sleep (2626), and nonsense. */
const FUNCTION_OIDS = [1397, 1257, 2626, 0, 1, 999_999_999];
/** A small set, so that re-Parse, Close and Bind of the same names collide. */
const STATEMENT_NAMES = ['fz_s1', 'fz_s2', 'fz_s3', 'fz_s4', 'fz_s5', 'sy_1', 'S_1', ''];
const PORTAL_NAMES = ['', '', 'fz_p1', 'fz_p2'];

export const ADMIN_TEXT: readonly string[] = [
  'SHOW POOLS',
  'SHOW STATS',
  'SHOW STATS_TOTALS',
  'SHOW STATS_AVERAGES',
  'SHOW CLIENTS',
  'SHOW SERVERS',
  'SHOW DATABASES',
  'SHOW CONFIG',
  'SHOW VERSION',
  'SHOW LISTS',
  'SHOW HELP',
  'show pools;',
  'SHOW',
  'SHOW NOTHING',
  'RESUME',
  'RESUME no_such_db',
  'SELECT 1',
  '',
  ';',
  'SHOW POOLS; SHOW STATS',
  'SHOW "POOLS"',
];

/** Start-up parameter names: the ones the pooler tracks or checks, protocol extensions, and odd ones. */
const STARTUP_NAMES = [
  'application_name',
  'client_encoding',
  'DateStyle',
  'TimeZone',
  'IntervalStyle',
  'standard_conforming_strings',
  'search_path',
  'options',
  'replication',
  '_pq_.fz_extension',
  'extra_float_digits',
  '__proto__',
  'constructor',
  'user',
  'database',
  '',
];
const STARTUP_VALUES = ['UTF8', 'LATIN1', 'ISO, MDY', 'UTC', 'Europe/Paris', 'postgres', 'on', 'off', 'true', 'database', '-c search_path=x', '', 'x'.repeat(300), 'é'];

export class Corpus {
  readonly rng: Rng;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  private param(): { format: number; value: Buffer | null } {
    const r = this.rng;
    switch (r.int(7)) {
      case 0:
        return { format: 0, value: null };
      case 1:
        return { format: 0, value: Buffer.from(String(r.range(-100, 100))) };
      case 2:
        return { format: 0, value: Buffer.from('x'.repeat(r.size(20_000))) };
      case 3:
        return { format: 1, value: f.int32(r.u32()) };
      case 4:
        return { format: 1, value: r.bytes(r.size(64)) };
      case 5:
        return { format: 0, value: Buffer.from('') };
      default:
        return { format: 0, value: Buffer.from('abc') };
    }
  }

  simpleQuery(): Unit[] {
    return [u(f.query(this.rng.pick(SIMPLE_SQL)))];
  }

  /** Parse/Bind/Describe/Execute/Sync with variations; `named` draws statement names from a small set. */
  extended(named: boolean): Unit[] {
    const r = this.rng;
    const withParams = r.chance(0.6);
    const [sql, n] = withParams ? r.pick(PARAM_SQL) : [r.pick(SIMPLE_SQL), 0];
    const name = named ? r.pick(STATEMENT_NAMES) : '';
    const portal = r.pick(PORTAL_NAMES);
    const out: Unit[] = [];
    if (r.chance(0.85)) out.push(u(f.parse(name, sql, r.chance(0.3) ? Array.from({ length: r.int(n + 2) }, () => r.pick(OIDS)) : [])));
    if (r.chance(0.3)) out.push(u(f.describe('S', name)));
    if (r.chance(0.9)) {
      const params = Array.from({ length: r.chance(0.9) ? n : r.int(4) }, () => this.param());
      const formats = r.chance(0.8) ? [] : Array.from({ length: r.int(3) }, () => r.int(3) - 0);
      out.push(u(f.bindFormats(portal, name, params, formats)));
    }
    if (r.chance(0.5)) out.push(u(f.describe('P', portal)));
    const executes = r.chance(0.8) ? 1 : r.range(0, 3);
    for (let i = 0; i < executes; i++) out.push(u(f.execute(portal, r.chance(0.7) ? 0 : r.range(1, 3))));
    if (r.chance(0.2)) out.push(u(f.close('P', portal)));
    if (named && r.chance(0.2)) out.push(u(f.close('S', name)));
    if (r.chance(0.1)) out.push(u(f.flush()));
    if (r.chance(0.9)) out.push(u(f.sync()));
    return out;
  }

  functionCall(): Unit[] {
    const r = this.rng;
    return [u(f.functionCall(r.pick(FUNCTION_OIDS), Array.from({ length: r.int(3) }, () => (r.chance(0.2) ? null : String(r.range(-9, 9))))))];
  }

  copyIn(): Unit[] {
    const r = this.rng;
    const out: Unit[] = [];
    const rows = r.size(40);
    for (let i = 0; i < rows; i++) {
      out.push(u(f.copyData(r.chance(0.8) ? `${r.range(-5, 1000)}\t${'y'.repeat(r.size(200))}\n` : r.bytes(r.size(300)))));
    }
    const end = r.int(10);
    if (end < 6) out.push(u(f.copyDone()));
    else if (end < 9) out.push(u(f.copyFail('fz gives up')));
    if (r.chance(0.5)) out.push(u(f.sync()));
    return out;
  }

  /** Messages a client might send during COPY OUT (a server ignores or refuses them). */
  duringCopyOut(): Unit[] {
    const r = this.rng;
    return [r.pick([() => u(f.flush()), () => u(f.sync()), () => u(f.copyData('1\tx\n')), () => u(f.copyDone()), () => u(f.query('SELECT 1'))])()];
  }

  adminQuery(): Unit[] {
    const r = this.rng;
    const out: Unit[] = [u(f.query(r.pick(ADMIN_TEXT)))];
    if (r.chance(0.1)) out.push(...this.extended(false));
    if (r.chance(0.05)) out.push(...this.functionCall());
    if (r.chance(0.05)) out.push(u(f.copyData('x')));
    return out;
  }

  /** A StartupMessage with a random selection of parameters (user/database set by the caller or not). */
  startupMessage(base: Record<string, string>): Unit {
    const r = this.rng;
    const pairs: [string, string][] = Object.entries(base);
    const extra = r.chance(0.5) ? 0 : r.size(12);
    for (let i = 0; i < extra; i++) pairs.splice(r.int(pairs.length + 1), 0, [r.pick(STARTUP_NAMES), r.pick(STARTUP_VALUES)]);
    const code = r.chance(0.9) ? 196608 : r.pick([196609, 196610, 131072, 262144, 0x04d2162e, r.u32() | 0]);
    return { bytes: f.startupWith(pairs, code), untyped: true };
  }

  /** The start-up family in some order: SSLRequest/GSSENCRequest before a StartupMessage, or a CancelRequest. */
  startupSequence(base: Record<string, string>): Unit[] {
    const r = this.rng;
    const out: Unit[] = [];
    const pre = r.int(4);
    for (let i = 0; i < pre; i++) out.push({ bytes: r.chance(0.5) ? f.sslRequest() : f.gssencRequest(), untyped: true });
    if (r.chance(0.15)) out.push({ bytes: f.cancelRequest(r.u32() | 0, r.u32() | 0), untyped: true });
    else out.push(this.startupMessage(base));
    return out;
  }

  /** Something that is no valid message at all: pure random bytes. */
  random(): Unit {
    return { bytes: this.rng.bytes(this.rng.size(4096)) };
  }

  /** A well-framed message of a random (mostly invalid) type with a random body. */
  randomTyped(): Unit {
    const r = this.rng;
    const type = r.chance(0.5) ? r.int(256) : r.pick([...'PBDECSHFQXdcfpGgAVZ'].map((c) => c.charCodeAt(0)));
    return u(f.typed(type, r.bytes(r.size(512))));
  }

  /** A batch for a connection in `state`: one to a few sequences of that state, sometimes of another. */
  batch(state: State, named: boolean): Unit[] {
    const r = this.rng;
    const out: Unit[] = [];
    const sequences = r.size(6) + 1;
    for (let i = 0; i < sequences; i++) out.push(...this.sequence(state, named));
    return out;
  }

  sequence(state: State, named: boolean): Unit[] {
    const r = this.rng;
    switch (state) {
      case 'admin':
        return this.adminQuery();
      case 'copy-in':
        return r.chance(0.8) ? this.copyIn() : this.sequence('idle', named);
      case 'copy-out':
        return r.chance(0.5) ? this.duringCopyOut() : this.sequence('idle', named);
      default:
        return r.weighted<() => Unit[]>([
          [() => this.simpleQuery(), 5],
          [() => this.extended(false), 3],
          [() => this.extended(true), named ? 4 : 0.5],
          [() => this.functionCall(), 0.3],
          [() => this.copyIn(), 0.3],
        ])();
    }
  }

  /** A unit from the whole repertoire, whatever the state (for interleaving). */
  foreign(): Unit[] {
    const r = this.rng;
    return r.weighted<() => Unit[]>([
      [() => this.simpleQuery(), 2],
      [() => this.extended(r.chance(0.5)), 2],
      [() => this.copyIn().slice(0, 2), 1],
      [() => this.adminQuery(), 0.5],
      [() => this.functionCall(), 0.5],
      [() => this.startupSequence({ user: 'fz', database: 'fz' }), 1],
      [() => [u(f.saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abc'))], 0.5],
      [() => [u(f.passwordMessage('md5' + '0'.repeat(32)))], 0.5],
      [() => [u(f.terminate())], 0.3],
      [() => [this.randomTyped()], 1],
    ])();
  }
}
