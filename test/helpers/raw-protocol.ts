// A hand-driven PostgreSQL v3 protocol client for the protocol-* integration tests: it sends exact
// byte sequences (extended-query pipelines, COPY sub-protocol, CancelRequest) and records every
// backend message, so a test can compare what the pooler returns with what PostgreSQL itself returns
// for the same bytes. Also the process-level harness those tests need (the pooler as a child
// process, for memory sampling and for several cooperating pooler processes).
//
// Message formats: PostgreSQL docs, "Frontend/Backend Protocol" → "Message Formats" (55.7 in PG 15).
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { toYaml } from '../../shared/src/yaml.ts';
import { md5Response } from '../../pooler/src/auth/md5.ts';
import { ScramClientSession } from '../../pooler/src/auth/scram-client.ts';
import { MessageFramer } from '../../pooler/src/net/framer.ts';
import * as wire from '../../pooler/src/net/messages.ts';
import { freePort } from '../../shared/src/local/postgres-server.ts';
import { spawnPooler, type PoolerChild } from './pooler-process.ts';
import type { ConnSettings } from './tenants.ts';

// ---------------------------------------------------------------------------------------------
// Frontend message serializers the pooler's messages.ts does not have (extended query, COPY).

function cstr(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** A typed frontend message: Byte1 type, Int32 length (counting itself), body. */
export function message(type: string, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(payload.length + 4), payload]);
}

/** Parse: statement name ('' = unnamed), query text, parameter type OIDs (0 = let the server infer). */
export function parse(name: string, sql: string, paramTypes: number[] = []): Buffer {
  return message('P', cstr(name), cstr(sql), int16(paramTypes.length), ...paramTypes.map(int32));
}

/** Bind with text-format parameters (null = SQL NULL) and text-format results. */
export function bind(portal: string, statement: string, params: (string | null)[] = []): Buffer {
  const values = params.flatMap((p) => (p === null ? [int32(-1)] : [int32(Buffer.byteLength(p)), Buffer.from(p, 'utf8')]));
  return message('B', cstr(portal), cstr(statement), int16(0), int16(params.length), ...values, int16(0));
}

export function describe(kind: 'S' | 'P', name: string): Buffer {
  return message('D', Buffer.from(kind, 'latin1'), cstr(name));
}

/** Execute a portal; maxRows 0 = no limit. */
export function execute(portal = '', maxRows = 0): Buffer {
  return message('E', cstr(portal), int32(maxRows));
}

export function close(kind: 'S' | 'P', name: string): Buffer {
  return message('C', Buffer.from(kind, 'latin1'), cstr(name));
}

export function sync(): Buffer {
  return wire.sync();
}

export function flush(): Buffer {
  return message('H');
}

export function query(sql: string): Buffer {
  return wire.query(sql);
}

/** StartupMessage, protocol 3.0 (55.7). */
export function startupMessage(params: Record<string, string>): Buffer {
  return wire.startupMessage(params);
}

export function copyData(data: Buffer | string): Buffer {
  return message('d', typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
}

export function copyDone(): Buffer {
  return message('c');
}

export function copyFail(reason: string): Buffer {
  return message('f', cstr(reason));
}

export function terminate(): Buffer {
  return wire.terminate();
}

/** P(name, sql) B E S: prepare (if sql given), bind and run a statement as one request. */
export function runNamed(name: string, params: (string | null)[] = [], sql?: string): Buffer {
  return Buffer.concat([...(sql === undefined ? [] : [parse(name, sql)]), bind('', name, params), execute(), sync()]);
}

// ---------------------------------------------------------------------------------------------
// Backend messages

export interface Msg {
  /** The type byte as a character, e.g. 'Z'. */
  type: string;
  body: Buffer;
}

/** Fields of an ErrorResponse/NoticeResponse body: field code → value (55.8). */
export function errorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    fields[code] = body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return fields;
}

function cstrings(body: Buffer): string[] {
  return body.toString('utf8').split('\0').slice(0, -1);
}

/** A DataRow's values as text (null for SQL NULL). */
export function dataRowValues(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  const out: (string | null)[] = [];
  let off = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(off);
    off += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.toString('utf8', off, off + len));
      off += len;
    }
  }
  return out;
}

/** A RowDescription's column names and type OIDs. */
export function rowDescriptionColumns(body: Buffer): { name: string; typeOid: number }[] {
  const n = body.readInt16BE(0);
  const cols: { name: string; typeOid: number }[] = [];
  let off = 2;
  for (let i = 0; i < n; i++) {
    const end = body.indexOf(0, off);
    const name = body.toString('utf8', off, end);
    off = end + 1;
    cols.push({ name, typeOid: body.readInt32BE(off + 6) });
    off += 18;
  }
  return cols;
}

/**
 * A comparable one-line summary of a backend message: the type plus the content that must match
 * between the pooler and PostgreSQL (SQLSTATE and text of errors, command tags, row values, column
 * names and types, transaction status). Process-specific content (notification sender pid) is left out.
 */
export function summarize(m: Msg): string {
  switch (m.type) {
    case 'E':
    case 'N': {
      const f = errorFields(m.body);
      return `${m.type}:${f.V ?? f.S}:${f.C}:${f.M}`;
    }
    case 'C':
      return `C:${cstrings(m.body)[0] ?? ''}`;
    case 'D':
      return `D:${JSON.stringify(dataRowValues(m.body))}`;
    case 'T':
      return `T:${rowDescriptionColumns(m.body)
        .map((c) => `${c.name}/${c.typeOid}`)
        .join(',')}`;
    case 't': {
      const n = m.body.readInt16BE(0);
      const oids = Array.from({ length: n }, (_, i) => m.body.readInt32BE(2 + 4 * i));
      return `t:${oids.join(',')}`;
    }
    case 'Z':
      return `Z:${String.fromCharCode(m.body[0] ?? 0)}`;
    case 'S':
      return `S:${cstrings(m.body).join('=')}`;
    case 'A': {
      const [channel, payload] = cstrings(m.body.subarray(4));
      return `A:${channel ?? ''}:${payload ?? ''}`;
    }
    case 'd':
      return `d:${m.body.length}`;
    default:
      return m.type;
  }
}

export function summarizeAll(msgs: readonly Msg[]): string[] {
  return msgs.map(summarize);
}

/** The SQLSTATEs of the ErrorResponses among `msgs`. */
export function errorCodes(msgs: readonly Msg[]): string[] {
  return msgs.filter((m) => m.type === 'E').map((m) => errorFields(m.body).C ?? '?');
}

/** The rows (DataRow values) among `msgs`. */
export function rows(msgs: readonly Msg[]): (string | null)[][] {
  return msgs.filter((m) => m.type === 'D').map((m) => dataRowValues(m.body));
}

/** How many ReadyForQuery messages `bytes` asks for: one per Query, Sync and FunctionCall. */
export function expectedReadyCount(bytes: Buffer): number {
  let n = 0;
  for (let off = 0; off + 5 <= bytes.length; ) {
    const t = String.fromCharCode(bytes[off]!);
    if (t === 'Q' || t === 'S' || t === 'F') n++;
    off += 1 + bytes.readInt32BE(off + 1);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// The client

export class ConnectionClosed extends Error {
  readonly code = 'CONNECTION_CLOSED';
  readonly received: Msg[];
  constructor(what: string, received: Msg[]) {
    super(`connection closed ${what}; received: ${summarizeAll(received).join(' | ')}`);
    this.received = received;
  }
}

/**
 * One protocol connection. Incoming messages queue up until read with next()/untilReady(); a
 * CopyData sink can consume COPY OUT data without queueing it (for streams of hundreds of MB).
 */
export class ProtocolClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  /** Current value of each parameter the server reported (ParameterStatus). */
  readonly params = new Map<string, string>();
  /** Every ParameterStatus received after login, in order. */
  readonly parameterLog: [string, string][] = [];
  processId = 0;
  secretKey = 0;
  /** Authentication request codes received during login (0 ok, 3 cleartext, 5 md5, 10 SASL, ...). */
  readonly authRequests: number[] = [];
  /** The bodies of those requests after the code (mechanism list, SCRAM server messages, md5 salt). */
  readonly authData: Buffer[] = [];
  private readonly framer = new MessageFramer(0x7fffffff);
  private readonly queue: Msg[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private loggedIn = false;
  /** While set, CopyData messages go here instead of the queue. */
  private copySink: ((data: Buffer) => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((res) => socket.once('close', () => res()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // a reset after a FATAL is expected; 'close' still fires
    socket.once('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  static open(host: string, port: number): Promise<ProtocolClient> {
    return new Promise((res, rej) => {
      const s = connect({ host, port });
      s.once('error', rej);
      s.once('connect', () => {
        s.off('error', rej);
        s.setNoDelay(true);
        res(new ProtocolClient(s));
      });
    });
  }

  /**
   * Opens a connection and logs in (SCRAM-SHA-256, md5 or cleartext) up to the first ReadyForQuery.
   * A key of `startupParams` set to undefined is left out of the start-up packet (application_name: no name at all).
   */
  static async connect(c: ConnSettings, startupParams: Record<string, string | undefined> = {}): Promise<ProtocolClient> {
    const client = await ProtocolClient.open(c.host, c.port);
    try {
      await client.login(c, startupParams);
    } catch (err) {
      client.destroy();
      throw err;
    }
    return client;
  }

  private onData(chunk: Buffer): void {
    this.framer.push(chunk);
    for (let m = this.framer.next(); m !== undefined; m = this.framer.next()) {
      const type = String.fromCharCode(m.type);
      if (type === 'd' && this.copySink !== undefined) {
        this.copySink(m.body);
        continue;
      }
      // Bodies are views into received chunks; copy the small ones so a queue does not pin big chunks.
      const body = m.body.length < 4096 ? Buffer.from(m.body) : m.body;
      if (type === 'S' && this.loggedIn) this.recordParameter(body);
      this.queue.push({ type, body });
    }
    this.wake();
  }

  private recordParameter(body: Buffer): void {
    const [name, value] = cstrings(body);
    if (name === undefined || value === undefined) return;
    this.params.set(name, value);
    this.parameterLog.push([name, value]);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  send(...bytes: Buffer[]): Promise<void> {
    return new Promise((res) => {
      if (this.socket.destroyed) return res();
      // Resolves once the bytes are handed to the kernel (not when buffered in user space), so a
      // writer awaiting each send is paced by the peer: that is how backpressure reaches us.
      this.socket.write(bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes), () => res());
    });
  }

  /** The next backend message, or undefined once the connection is closed and nothing is left. */
  async next(): Promise<Msg | undefined> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.ended) return undefined;
      await new Promise<void>((res) => (this.waiter = res));
    }
  }

  /** Collects messages up to and including the `count`-th ReadyForQuery. Throws if the connection closes first. */
  async untilReady(count = 1): Promise<Msg[]> {
    const got: Msg[] = [];
    let seen = 0;
    while (seen < count) {
      const m = await this.next();
      if (m === undefined) throw new ConnectionClosed(`after ${seen} of ${count} ReadyForQuery`, got);
      got.push(m);
      if (m.type === 'Z') seen++;
    }
    return got;
  }

  /** Reads until a message of `type` arrives (returning all read, including it). */
  async untilType(type: string): Promise<Msg[]> {
    const got: Msg[] = [];
    for (;;) {
      const m = await this.next();
      if (m === undefined) throw new ConnectionClosed(`before a "${type}" message`, got);
      got.push(m);
      if (m.type === type) return got;
    }
  }

  /** Sends `bytes` and collects the replies up to the ReadyForQuery of every Query/Sync in them. */
  async request(...bytes: Buffer[]): Promise<Msg[]> {
    const all = Buffer.concat(bytes);
    await this.send(all);
    return this.untilReady(expectedReadyCount(all));
  }

  /** A simple Query; returns its rows, throwing on an ErrorResponse. */
  async simple(sql: string): Promise<(string | null)[][]> {
    const msgs = await this.request(query(sql));
    const err = msgs.find((m) => m.type === 'E');
    if (err) throw new Error(`query failed: ${sql}: ${summarize(err)}`);
    return rows(msgs);
  }

  /** Every message until the peer closes. */
  async drain(): Promise<Msg[]> {
    const all: Msg[] = [];
    for (let m = await this.next(); m !== undefined; m = await this.next()) all.push(m);
    return all;
  }

  /** Routes CopyData bodies to `sink` (not queued) until cleared with undefined. */
  setCopySink(sink: ((data: Buffer) => void) | undefined): void {
    this.copySink = sink;
  }

  async login(c: ConnSettings, startupParams: Record<string, string | undefined> = {}): Promise<void> {
    const all: Record<string, string | undefined> = { user: c.user, database: c.database, application_name: 'switchyard-raw', ...startupParams };
    await this.send(wire.startupMessage(Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined))));
    let scram: ScramClientSession | undefined;
    for (;;) {
      const m = await this.next();
      if (m === undefined) throw new ConnectionClosed('during login', []);
      switch (m.type) {
        case 'E':
          throw new LoginRefused(errorFields(m.body));
        case 'S': {
          const [name, value] = cstrings(m.body);
          if (name !== undefined && value !== undefined) this.params.set(name, value);
          break;
        }
        case 'K':
          this.processId = m.body.readInt32BE(0);
          this.secretKey = m.body.readInt32BE(4);
          break;
        case 'Z':
          this.loggedIn = true;
          return;
        case 'R': {
          const kind = m.body.readInt32BE(0);
          this.authRequests.push(kind);
          this.authData.push(Buffer.from(m.body.subarray(4)));
          if (kind === 3) await this.send(wire.passwordMessage(c.password));
          else if (kind === 5) await this.send(wire.passwordMessage(md5Response(c.password, c.user, m.body.subarray(4, 8))));
          else if (kind === 10) {
            scram = new ScramClientSession(c.password);
            await this.send(wire.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
          } else if (kind === 11) await this.send(wire.saslResponse(await scram!.serverFirst(m.body.toString('utf8', 4))));
          else if (kind === 12) scram!.serverFinal(m.body.toString('utf8', 4));
          else if (kind !== 0) throw new Error(`unsupported authentication request ${kind}`);
          break;
        }
        default:
          // NoticeResponse, NegotiateProtocolVersion: ignore.
          break;
      }
    }
  }

  /** Terminate and close. */
  async end(): Promise<void> {
    if (!this.socket.destroyed) {
      await this.send(terminate());
      this.socket.end();
    }
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class LoginRefused extends Error {
  readonly code = 'LOGIN_REFUSED';
  readonly fields: Record<string, string>;
  constructor(fields: Record<string, string>) {
    super(`login refused: ${fields.V ?? fields.S} ${fields.C}: ${fields.M}`);
    this.fields = fields;
  }
}

/**
 * Reads everything a connection receives until it closes and returns the first ErrorResponse's
 * fields (undefined if none came).
 */
export async function firstErrorUntilClose(conn: ProtocolClient): Promise<Record<string, string> | undefined> {
  const err = (await conn.drain()).find((m) => m.type === 'E');
  return err ? errorFields(err.body) : undefined;
}

/** Ends clients, ignoring errors (some may already be closed). */
export async function endAll(clients: Iterable<ProtocolClient | undefined>): Promise<void> {
  await Promise.all([...clients].map((c) => c?.end().catch(() => undefined)));
}

/** Sends a CancelRequest (55.2.7) on a new connection to host:port and waits until that connection closes. */
export function sendCancel(host: string, port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((res, rej) => {
    const s = connect({ host, port }, () => s.end(wire.cancelRequest(processId, secretKey)));
    s.on('error', rej);
    s.on('close', () => res());
    s.resume();
  });
}

/** The backend pid of the server connection `client` holds, from inside a transaction it leaves open. */
export async function beginAndPid(client: ProtocolClient): Promise<number> {
  const r = await client.simple('BEGIN; SELECT pg_backend_pid()');
  return Number(r[0]?.[0]);
}

/**
 * Transaction mode only: makes the pooler's server connection with backend `pid` busy, by opening
 * transactions on fresh clients until one lands on it (the others are committed again once it
 * does). The returned holder keeps that server until `release()` (COMMIT). Needs a pool of at
 * least two server connections; `clients` are opened with `open`.
 */
export async function occupyServer(
  pid: number,
  open: () => Promise<ProtocolClient>,
  maxTries = 8,
): Promise<{ holder: ProtocolClient; release: () => Promise<void> }> {
  const others: ProtocolClient[] = [];
  try {
    for (let i = 0; i < maxTries; i++) {
      const c = await open();
      const got = await beginAndPid(c);
      if (got === pid) {
        for (const o of others) await o.simple('COMMIT');
        return {
          holder: c,
          release: async () => {
            await c.simple('COMMIT');
            await c.end();
          },
        };
      }
      others.push(c);
    }
    throw new Error(`could not get the server connection with pid ${pid} after ${maxTries} tries`);
  } finally {
    await endAll(others);
  }
}

// ---------------------------------------------------------------------------------------------
// The pooler as a child process (`switchyard pooler --config FILE`), for tests that observe the
// process (its memory) or need several pooler processes.

export interface PoolerProcess extends PoolerChild {
  /** Resident set size in KiB (VmRSS from /proc/<pid>/status). */
  rssKb(): number;
  /** Started with the memory probe (hostile.ts retainedKb): it answers SIGUSR2. */
  readonly memoryProbe: boolean;
}

const MEMORY_PROBE = join(import.meta.dirname, 'pooler-memory-probe.ts');

/**
 * Writes `config` (a pooler config object; listen.port is set to a free port) as YAML into `dir`
 * and starts the pooler with this process's Node (the pinned Node 22). Resolves once it accepts
 * connections; rejects with its output if it exits first. `memoryProbe`: started with
 * pooler-memory-probe.ts, for hostile.ts retainedKb (what it holds after a full collection).
 */
export async function startPoolerProcess(config: Record<string, unknown>, dir: string, port?: number, opts: { memoryProbe?: boolean } = {}): Promise<PoolerProcess> {
  const listenPort = port ?? (await freePort());
  const full = { ...config, listen: { host: '127.0.0.1', port: listenPort } };
  const file = join(dir, `pooler-${listenPort}.yaml`);
  writeFileSync(file, toYaml(full), { mode: 0o600 });
  const memoryProbe = opts.memoryProbe === true;
  const nodeArgs = memoryProbe ? ['--expose-gc', '--import', MEMORY_PROBE] : [];
  const p = await spawnPooler(['--config', file], listenPort, { keepOutput: 20_000, nodeArgs });
  return {
    ...p,
    memoryProbe,
    rssKb: () => {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : NaN;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios: scripted requests compared between PostgreSQL and the pooler

/** One request of a scenario. */
export interface Step {
  label: string;
  bytes: Buffer;
  /**
   * Run inside `BEGIN; SELECT pg_backend_pid()` … `COMMIT` (default true), which pins the step to
   * one server connection and tells which one. False for commands that cannot run in a
   * transaction block (DISCARD ALL).
   */
  wrap?: boolean;
  /**
   * Transaction mode: run this step on a different server connection than the client's previous
   * wrapped step, by holding that one busy from another client meanwhile.
   */
  move?: boolean;
  /** Runs before the step (e.g. a DDL change made directly on PostgreSQL). */
  before?: () => Promise<void>;
}

export interface ScenarioResult {
  /** Per client: "## label" headers followed by the summarized replies. */
  transcripts: string[][];
  /** Per client: the requested moves, with the backend pids before and after. */
  moves: { client: number; label: string; from: number; to: number }[][];
}

/**
 * Runs `scripts[i]` on `clients[i]`, interleaving the clients step by step (all clients' step 0,
 * then all step 1, …). When `openHolder` is given (transaction mode, pool size 2), steps marked
 * `move` are forced onto another server connection than the client's previous step.
 */
export async function runScenario(clients: ProtocolClient[], scripts: Step[][], openHolder?: () => Promise<ProtocolClient>): Promise<ScenarioResult> {
  const transcripts: string[][] = clients.map(() => []);
  const moves: ScenarioResult['moves'] = clients.map(() => []);
  const lastPid: (number | undefined)[] = clients.map(() => undefined);
  const steps = Math.max(...scripts.map((s) => s.length));
  const dead = clients.map(() => false);
  for (let k = 0; k < steps; k++) {
    for (const [i, c] of clients.entries()) {
      const step = scripts[i]![k];
      if (step === undefined || dead[i]) continue;
      const from = lastPid[i];
      const out = transcripts[i]!;
      out.push(`## ${step.label}`);
      let hold: { release: () => Promise<void> } | undefined;
      try {
        await step.before?.();
        if (step.move && openHolder !== undefined && from !== undefined) hold = await occupyServer(from, openHolder);
        if (step.wrap === false) {
          lastPid[i] = undefined;
          out.push(...summarizeAll(await c.request(step.bytes)));
        } else {
          const pid = await beginAndPid(c);
          lastPid[i] = pid;
          if (hold !== undefined) moves[i]!.push({ client: i, label: step.label, from: from!, to: pid });
          out.push(...summarizeAll(await c.request(step.bytes)));
          out.push(...summarizeAll(await c.request(query('COMMIT'))));
        }
      } catch (err) {
        // Record the failure in the transcript (so the comparison shows where the run diverged)
        // and stop this client's script: its connection is unusable.
        out.push(`!! ${err instanceof ConnectionClosed ? err.message : String(err)}`);
        dead[i] = true;
      } finally {
        await hold?.release().catch(() => undefined);
      }
    }
  }
  return { transcripts, moves };
}

/** The reference: each script on its own fresh direct connection to PostgreSQL. */
export async function referenceTranscripts(direct: ConnSettings, scripts: Step[][]): Promise<string[][]> {
  const out: string[][] = [];
  for (const script of scripts) {
    const c = await ProtocolClient.connect(direct);
    try {
      out.push((await runScenario([c], [script])).transcripts[0]!);
    } finally {
      await c.end();
    }
  }
  return out;
}

/**
 * Runs `scripts` straight on PostgreSQL (reference) and through the pooler, one pooler client per
 * script, interleaved. `holders` (transaction mode) opens the clients that keep a server busy so
 * that `move` steps land on another server connection.
 */
export async function scenarioVersusPostgres(opts: {
  direct: ConnSettings;
  pooled: ConnSettings;
  scripts: Step[][];
  moveBetweenServers: boolean;
}): Promise<ScenarioResult & { expected: string[][] }> {
  const expected = await referenceTranscripts(opts.direct, opts.scripts);
  const clients: ProtocolClient[] = [];
  try {
    for (let i = 0; i < opts.scripts.length; i++) clients.push(await ProtocolClient.connect(opts.pooled));
    const holder = opts.moveBetweenServers ? () => ProtocolClient.connect(opts.pooled) : undefined;
    const result = await runScenario(clients, opts.scripts, holder);
    return { ...result, expected };
  } finally {
    await endAll(clients);
  }
}
