// One fuzzing connection from start to end, and the lane that opens them one after another. A
// connection's whole input follows from its seed (`<run seed>/<lane>/<n>`): the scenario (which
// state to reach: start-up, authentication, idle, transaction, failed transaction, tracked mode,
// COPY in or out, session mode, the admin console, TLS), the batches of valid sequences for that
// state, their mutations, the offsets where the bytes are split into writes, and how the
// connection ends. Batches are pipelined; the next one goes once the replies owed have arrived,
// the pooler went quiet, or a cap passed.
import { connect } from 'node:net';
import { Corpus, type State, type Unit } from './corpus.ts';
import { FuzzConn, login, type AuthHook, type LoginTarget, type Observed } from './conn.ts';
import * as f from './frontend.ts';
import { mutate, splitOffsets } from './mutate.ts';
import { Rng } from './rng.ts';

export type Scenario =
  | 'startup'
  | 'cancel'
  | 'tls'
  | 'auth'
  | 'idle'
  | 'session'
  | 'transaction'
  | 'failed'
  | 'tracked'
  | 'copy-in'
  | 'copy-out'
  | 'admin'
  | 'random';

const SCENARIOS: readonly (readonly [Scenario, number])[] = [
  ['startup', 8],
  ['cancel', 2],
  ['tls', 3],
  ['auth', 8],
  ['idle', 16],
  ['session', 6],
  ['transaction', 10],
  ['failed', 4],
  ['tracked', 14],
  ['copy-in', 7],
  ['copy-out', 4],
  ['admin', 6],
  ['random', 3],
];

export interface FuzzTargets {
  host: string;
  port: number;
  /** limits.max_message_size of the pooler under test. */
  maxMessageSize: number;
  /** Transaction-mode tenants (SCRAM and md5 client auth) and a session-mode one. */
  scram: LoginTarget;
  md5: LoginTarget;
  session: LoginTarget;
  admin: LoginTarget;
  /** The listener accepts TLS (mode allow). */
  tls: boolean;
}

export interface Counters {
  inputs: number;
  /** Connections that stopped reading their replies. */
  nonReading: number;
  connections: number;
  logins: number;
  batches: number;
  bytesOut: number;
  byScenario: Map<Scenario, number>;
}

export interface ConnRecord {
  seed: string;
  scenario: Scenario | undefined;
  startedAt: number;
  endedAt: number | undefined;
}

export interface LaneContext {
  readonly targets: FuzzTargets;
  readonly counters: Counters;
  readonly observed: Observed;
  /** Connections in progress and recently ended, for the report of a crash. */
  readonly recent: ConnRecord[];
  /** Cancel keys of this run's own fuzz connections (never the canary's). */
  readonly keys: { processId: number; secretKey: number }[];
  /** Errors of the driver itself (bugs in the fuzzer, not findings). */
  readonly driverErrors: string[];
  stopping(): boolean;
  /** Resolves when the pooler accepts connections again (it is restarted after a crash). */
  poolerUp(): Promise<void>;
}

const RECENT_MAX = 256;
/** Verbs of the admin console that may be sent: anything else could pause, kill or stop the pooler under test. */
const ADMIN_ALLOWED = new Set(['SHOW', 'RESUME', 'SELECT', '']);

/** The admin console's reading of a Query body (admin/session.ts, admin/dispatch.ts): is it harmless? */
export function adminQueryIsHarmless(body: Buffer): boolean {
  const end = body.length > 0 && body[body.length - 1] === 0 ? body.length - 1 : body.length;
  const text = body.toString('utf8', 0, end).trim().replace(/[\s;]+$/, '');
  if (text.includes(';')) return true;
  const verb = (/^(\S+)/.exec(text)?.[1] ?? '').toUpperCase();
  return ADMIN_ALLOWED.has(verb) || !/^[A-Z_]+$/.test(verb);
}

/**
 * Whether every Query the admin console would see in `stream` (what it still holds from earlier
 * writes, then this batch) is harmless. Returns the bytes of a partial message left at the end, or
 * null when the batch must not be sent.
 */
function adminStreamCheck(stream: Buffer, max: number): Buffer | null {
  let off = 0;
  while (off + 5 <= stream.length) {
    const len = stream.readInt32BE(off + 1);
    // The console ends the session at an impossible length: nothing after it is read.
    if (len < 4 || len > max) return Buffer.alloc(0);
    if (off + 1 + len > stream.length) break;
    const type = stream[off]!;
    if (type === 0x51 && !adminQueryIsHarmless(stream.subarray(off + 5, off + 1 + len))) return null;
    if (type === 0x58) return Buffer.alloc(0);
    off += 1 + len;
  }
  return Buffer.from(stream.subarray(off));
}

export async function runLane(ctx: LaneContext, seed: string, lane: number): Promise<void> {
  for (let n = 0; !ctx.stopping(); n++) {
    const record: ConnRecord = { seed: `${seed}/${lane}/${n}`, scenario: undefined, startedAt: Date.now(), endedAt: undefined };
    ctx.recent.push(record);
    if (ctx.recent.length > RECENT_MAX) ctx.recent.splice(0, ctx.recent.length - RECENT_MAX);
    try {
      await runConnection(ctx, record);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') await ctx.poolerUp();
      else ctx.driverErrors.push(`${record.seed}: ${(err as Error).stack ?? String(err)}`);
    } finally {
      record.endedAt = Date.now();
    }
  }
}

/** Runs the connection whose input follows from `record.seed`. */
export async function runConnection(ctx: LaneContext, record: ConnRecord): Promise<void> {
  const rng = new Rng(record.seed);
  const scenario = rng.weighted(SCENARIOS);
  record.scenario = scenario;
  const t = ctx.targets;
  ctx.counters.connections++;
  ctx.counters.byScenario.set(scenario, (ctx.counters.byScenario.get(scenario) ?? 0) + 1);
  const conn = await FuzzConn.open(t.host, t.port, ctx.observed);
  const run = new ConnectionRun(ctx, rng, conn);
  try {
    await run.play(scenario);
  } finally {
    await run.end();
  }
}

class ConnectionRun {
  private readonly ctx: LaneContext;
  private readonly rng: Rng;
  private readonly corpus: Corpus;
  private conn: FuzzConn;
  /** Admin console: bytes of a partial message already sent (see adminStreamCheck). */
  private adminRest: Buffer | null = null;
  /** A batch left the stream off a message boundary: what the pooler frames from here on is unknown. */
  private offBoundary = false;

  constructor(ctx: LaneContext, rng: Rng, conn: FuzzConn) {
    this.ctx = ctx;
    this.rng = rng;
    this.corpus = new Corpus(rng);
    this.conn = conn;
  }

  private count(units: number, bytes: number): void {
    this.ctx.counters.inputs += units;
    this.ctx.counters.bytesOut += bytes;
  }

  /** Writes `bytes`, cut at random offsets into separate writes (sometimes a moment apart). */
  private async send(bytes: Buffer): Promise<void> {
    const cuts = splitOffsets(this.rng, bytes.length);
    let from = 0;
    for (const at of [...cuts, bytes.length]) {
      await this.conn.write(bytes.subarray(from, at));
      from = at;
      if (at < bytes.length && this.rng.chance(0.3)) await new Promise((r) => setTimeout(r, this.rng.int(3)));
    }
  }

  private targetFor(kind: 'scram' | 'md5' | 'session' | 'admin' | 'unknown'): LoginTarget {
    const t = this.ctx.targets;
    if (kind === 'unknown') return { user: 'fz_nobody', database: this.rng.chance(0.5) ? t.scram.database : 'fz_nowhere', password: 'nope' };
    return t[kind];
  }

  async play(scenario: Scenario): Promise<void> {
    const r = this.rng;
    switch (scenario) {
      case 'startup':
        return this.startupFuzz();
      case 'cancel':
        return this.cancelFuzz();
      case 'tls':
        return this.tlsFuzz();
      case 'auth':
        return this.authFuzz();
      case 'admin':
        if (!(await this.logIn(this.targetFor('admin')))) return;
        this.adminRest = Buffer.alloc(0);
        return this.batches('admin', false);
      case 'random': {
        if (!(await this.logIn(this.targetFor(r.chance(0.5) ? 'scram' : 'md5')))) return;
        const n = r.size(20) + 1;
        for (let i = 0; i < n && !this.conn.isClosed; i++) {
          const u = this.corpus.random();
          this.count(1, u.bytes.length);
          await this.send(u.bytes);
          await this.conn.settle('random', () => false, r.range(5, 50), 500);
        }
        return;
      }
      case 'session':
        if (!(await this.logIn(this.targetFor('session')))) return;
        return this.batches(r.chance(0.5) ? 'idle' : 'transaction', r.chance(0.3));
      default: {
        const state = scenario as State;
        if (!(await this.logIn(this.targetFor(r.chance(0.6) ? 'md5' : 'scram')))) return;
        return this.batches(state, state === 'tracked');
      }
    }
  }

  /** A clean login (the states behind authentication are what is fuzzed next). */
  private async logIn(t: LoginTarget): Promise<boolean> {
    const params: Record<string, string> = { user: t.user, database: t.database };
    if (this.rng.chance(0.3)) params.application_name = `fz-${this.rng.int(1000)}`;
    const res = await login(this.conn, t, null, f.startupWith(Object.entries(params)));
    this.count(1, 0);
    if (res.ok) {
      this.ctx.counters.logins++;
      if (this.conn.processId !== 0 && t !== this.ctx.targets.admin) {
        this.ctx.keys.push({ processId: this.conn.processId, secretKey: this.conn.secretKey });
        if (this.ctx.keys.length > 64) this.ctx.keys.shift();
      }
    }
    return res.ok;
  }

  /** Puts the connection into `state` (from idle). */
  private async enter(state: State): Promise<void> {
    const c = this.conn;
    const before = c.ready;
    const r = this.rng;
    switch (state) {
      case 'transaction':
        await c.write(f.query(r.pick(['BEGIN', 'BEGIN; SELECT 1', 'START TRANSACTION ISOLATION LEVEL REPEATABLE READ'])));
        break;
      case 'failed':
        await c.write(f.query('BEGIN; SELECT 1/0'));
        break;
      case 'tracked':
        await c.write(Buffer.concat([f.parse(r.pick(['fz_s1', 'fz_s2']), 'SELECT $1::int'), f.sync()]));
        break;
      case 'copy-in': {
        const copies = c.seen[0x47]!;
        await c.write(f.query(r.pick(['COPY fz_copy FROM STDIN', 'COPY fz_copy FROM STDIN WITH (FORMAT csv)', 'COPY fz_copy (a) FROM STDIN'])));
        await c.settle('enter', () => c.seen[0x47]! > copies || c.ready > before, 5000, 5000);
        this.count(1, 0);
        return;
      }
      case 'copy-out':
        // Not waited for: the fuzzing happens while the data flows.
        await c.write(f.query(`COPY (SELECT g, repeat('x', ${r.size(300)}) FROM generate_series(1, ${r.size(20_000)}) g) TO STDOUT`));
        this.count(1, 0);
        return;
      default:
        return;
    }
    this.count(1, 0);
    await c.settle('enter', () => c.ready > before, 5000, 5000);
  }

  private async batches(state: State, named: boolean): Promise<void> {
    const r = this.rng;
    const c = this.conn;
    await this.enter(state);
    const n = r.size(40) + 1;
    const mutateOdds = r.pick([0.1, 0.3, 0.6, 0.9]);
    // Some clients stop reading: the pooler must hold back (backpressure), not buffer for them.
    if (r.chance(0.08)) {
      c.socket.pause();
      this.ctx.counters.nonReading++;
    }
    for (let i = 0; i < n && !c.isClosed && !this.ctx.stopping(); i++) {
      if (i > 0 && r.chance(0.15) && state !== 'admin' && !this.offBoundary) await this.enter(state);
      let units = this.corpus.batch(state, named);
      if (r.chance(mutateOdds)) units = mutate(r, this.corpus, units);
      let bytes = Buffer.concat(units.map((u) => u.bytes));
      if (this.adminRest !== null) {
        const rest = adminStreamCheck(Buffer.concat([this.adminRest, bytes]), 64 * 1024);
        if (rest === null) continue;
        this.adminRest = rest;
      }
      this.count(units.length, bytes.length);
      this.ctx.counters.batches++;
      const scan = f.scanFrames(bytes, this.ctx.targets.maxMessageSize);
      const before = c.ready;
      if (r.chance(0.05)) this.cancelOwn();
      await this.send(bytes);
      bytes = Buffer.alloc(0);
      if (!scan.clean) this.offBoundary = true;
      if (!this.offBoundary) await c.settle('batch', () => c.ready >= before + scan.readyOwed, 60, 2000);
      else await c.settle('broken batch', () => false, r.range(5, 60), 500);
    }
  }

  /** A CancelRequest for this connection's own key, racing its requests. */
  private cancelOwn(): void {
    const { processId, secretKey } = this.conn;
    if (processId === 0) return;
    const s = connect({ host: this.ctx.targets.host, port: this.ctx.targets.port }, () => s.end(f.cancelRequest(processId, secretKey)));
    s.on('error', () => undefined);
    s.resume();
    this.count(1, 16);
  }

  private startupBase(): Record<string, string> {
    const t = this.ctx.targets;
    const r = this.rng;
    return r.pick<() => Record<string, string>>([
      () => ({ user: t.scram.user, database: t.scram.database }),
      () => ({ user: t.md5.user, database: t.md5.database }),
      () => ({ user: t.admin.user, database: t.admin.database }),
      () => ({ user: 'fz_nobody', database: t.scram.database }),
      () => ({ user: t.scram.user }),
      () => ({ database: t.scram.database }),
      () => ({}),
    ])();
  }

  /** Start-up packets (mutated or not), perhaps followed by anything; nothing is answered. */
  private async startupFuzz(): Promise<void> {
    const r = this.rng;
    let units: Unit[] = this.corpus.startupSequence(this.startupBase());
    if (r.chance(0.7)) units = mutate(r, this.corpus, units, 4);
    if (r.chance(0.3)) units.push(...this.corpus.foreign());
    const bytes = Buffer.concat(units.map((u) => u.bytes));
    this.count(units.length, bytes.length);
    await this.send(bytes);
    await this.conn.settle('startup', () => false, r.range(10, 120), 1000);
  }

  /** CancelRequests: random keys, keys of this run's fuzz connections, wrong lengths. */
  private async cancelFuzz(): Promise<void> {
    const r = this.rng;
    const keys = this.ctx.keys;
    const key = keys.length > 0 && r.chance(0.6) ? r.pick(keys) : { processId: r.u32() | 0, secretKey: r.u32() | 0 };
    let units: Unit[] = [{ bytes: f.cancelRequest(key.processId, key.secretKey), untyped: true }];
    if (r.chance(0.4)) units = mutate(r, this.corpus, units, 3);
    const bytes = Buffer.concat(units.map((u) => u.bytes));
    this.count(units.length, bytes.length);
    await this.send(bytes);
    if (r.chance(0.5)) this.conn.socket.end();
    await this.conn.settle('cancel', () => false, r.range(10, 200), 1000);
  }

  /** SSLRequest; then a TLS handshake and a fuzzed session inside it, or garbage where the handshake should be. */
  private async tlsFuzz(): Promise<void> {
    const r = this.rng;
    const c = this.conn;
    this.count(1, 8);
    await c.write(f.sslRequest());
    await c.settle('ssl answer', () => c.bytesIn > 0, 5000, 5000);
    const answer = c.rawBytes()[0];
    c.framed(1);
    if (answer !== 0x53 /* S */) {
      // No TLS on this listener ('N'): the start-up goes on in the clear.
      if (await this.logIn(this.targetFor('md5'))) await this.batches('idle', false);
      return;
    }
    if (r.chance(0.3)) {
      const garbage = r.chance(0.5) ? this.corpus.random().bytes : Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), r.bytes(r.size(600))]);
      this.count(1, garbage.length);
      await this.send(garbage);
      await c.settle('tls garbage', () => false, r.range(10, 100), 1000);
      return;
    }
    if (!(await c.upgradeTls())) return;
    if (r.chance(0.3)) return this.authFuzz();
    if (await this.logIn(this.targetFor(r.chance(0.5) ? 'md5' : 'scram'))) await this.batches(r.pick(['idle', 'tracked', 'transaction'] as const), r.chance(0.5));
  }

  /** A login whose own messages may be mutated, for a known tenant, an unknown login or the console. */
  private async authFuzz(): Promise<void> {
    const r = this.rng;
    const kind = r.pick(['scram', 'md5', 'unknown', 'admin'] as const);
    const t = this.targetFor(kind);
    const odds = r.pick([0.2, 0.5, 0.9]);
    const hook: AuthHook = (step, bytes) => {
      const unit: Unit = step === 'startup' ? { bytes, untyped: true } : { bytes };
      let units = [unit];
      if (r.chance(odds)) units = mutate(r, this.corpus, units, 3);
      const out = Buffer.concat(units.map((u) => u.bytes));
      this.count(units.length, out.length);
      return out;
    };
    const startup = r.chance(0.5) ? this.corpus.startupMessage({ user: t.user, database: t.database }).bytes : f.startupWith([['user', t.user], ['database', t.database]]);
    const res = await login(this.conn, t, hook, startup, 2000);
    if (res.ok) {
      this.ctx.counters.logins++;
      if (kind !== 'admin') await this.batches('idle', false);
      else {
        this.adminRest = Buffer.alloc(0);
        await this.batches('admin', false);
      }
    }
  }

  async end(): Promise<void> {
    const c = this.conn;
    const r = this.rng;
    if (c.isClosed) return;
    switch (r.int(4)) {
      case 0:
        await c.write(f.terminate());
        c.socket.end();
        break;
      case 1:
        c.socket.end();
        break;
      case 2:
        // Half a message, then gone.
        await c.write(f.query('SELECT 1').subarray(0, r.range(1, 8)));
        c.destroy();
        return;
      default:
        c.destroy();
        return;
    }
    // The pooler closes its side after Terminate/end: wait briefly, then make sure.
    await c.settle('end', () => c.isClosed, 1000, 1000);
    c.destroy();
  }
}
