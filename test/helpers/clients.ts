// Real clients for the pooler's integration tests: psql and pgbench (the PostgreSQL 15 binaries),
// node-postgres, and a raw protocol connection for the malformed-input tests.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBinDir, run } from '../../shared/src/local/postgres-server.ts';
import type { ConnSettings } from './tenants.ts';

// ---------------------------------------------------------------------------------------------
// psql / pgbench

function pgBinary(name: 'psql' | 'pgbench'): string {
  const dir = findPostgresBinDir();
  if (existsSync(join(dir, name))) return join(dir, name);
  return `/usr/bin/${name}`;
}

/** A libpq connection string; sslmode=disable because the pooler has no TLS yet. */
export function conninfo(c: ConnSettings, extra: Record<string, string> = {}): string {
  const parts: Record<string, string> = {
    host: c.host,
    port: String(c.port),
    dbname: c.database,
    user: c.user,
    sslmode: 'disable',
    connect_timeout: '20',
    ...extra,
  };
  // libpq conninfo values: single-quote and backslash-escape (libpq docs, 34.1.1.1).
  return Object.entries(parts)
    .map(([k, v]) => `${k}='${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`)
    .join(' ');
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a psql script (fed on stdin) with unaligned, tuples-only output. The password travels in
 * PGPASSWORD, never on the command line. `stopOnError` maps to ON_ERROR_STOP.
 */
export function psql(
  c: ConnSettings,
  script: string,
  opts: { stopOnError?: boolean; args?: string[]; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  const args = ['-X', '-w', '-A', '-t', '-q', '-v', `ON_ERROR_STOP=${opts.stopOnError === false ? 0 : 1}`, ...(opts.args ?? []), '-f', '-', conninfo(c)];
  return run(pgBinary('psql'), args, {
    env: { PGPASSWORD: c.password, PGAPPNAME: 'switchyard-test-psql', LC_ALL: 'C' },
    input: script,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

export interface PgbenchResult extends ProcessResult {
  /** "number of transactions actually processed: N/M" → N (undefined if absent). */
  processed: number | undefined;
  expected: number | undefined;
  /** "number of failed transactions: N" (pgbench ≥ 15), undefined if absent. */
  failed: number | undefined;
}

/** Runs pgbench with the given arguments against `c` (PGPASSWORD env). */
export async function pgbench(c: ConnSettings, args: string[], opts: { timeoutMs?: number } = {}): Promise<PgbenchResult> {
  const r = await run(pgBinary('pgbench'), [...args, conninfo(c)], {
    env: { PGPASSWORD: c.password, LC_ALL: 'C' },
    timeoutMs: opts.timeoutMs ?? 300_000,
  });
  const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(r.stdout);
  const failed = /number of failed transactions: (\d+)/.exec(r.stdout);
  return {
    ...r,
    processed: processed ? Number(processed[1]) : undefined,
    expected: processed ? Number(processed[2]) : undefined,
    failed: failed ? Number(failed[1]) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// node-postgres

export type PgClient = pg.Client;

/** Errors a pg client emitted outside a query (e.g. the server closed the connection). */
const backgroundErrors = new WeakMap<pg.Client, Error[]>();

/**
 * A connected node-postgres client. An 'error' listener records asynchronous errors (a FATAL
 * while idle, a lost connection) instead of crashing the test process; read them with
 * `backgroundErrorsOf`.
 */
export async function connectPg(c: ConnSettings, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    ssl: false,
    connectionTimeoutMillis: 20_000,
    ...extra,
  });
  const errors: Error[] = [];
  backgroundErrors.set(client, errors);
  client.on('error', (err) => errors.push(err));
  await client.connect();
  return client;
}

export function backgroundErrorsOf(client: pg.Client): readonly Error[] {
  return backgroundErrors.get(client) ?? [];
}

/** The client's TCP socket (node-postgres keeps it at `connection.stream`). */
export function socketOf(client: pg.Client): Socket {
  const c = client as unknown as { connection?: { stream?: Socket } };
  const s = c.connection?.stream;
  if (!s) throw new Error('pg client has no socket');
  return s;
}

/** Ends a client, ignoring errors (the connection may already be gone). */
export async function endQuietly(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  await client.end().catch(() => undefined);
}

/** The SQLSTATE and severity of a pg error (DatabaseError), or undefined fields for other errors. */
export function pgErrorInfo(err: unknown): { code: string | undefined; severity: string | undefined; message: string } {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; severity?: unknown };
    return {
      code: typeof e.code === 'string' ? e.code : undefined,
      severity: typeof e.severity === 'string' ? e.severity : undefined,
      message: e.message,
    };
  }
  return { code: undefined, severity: undefined, message: String(err) };
}

/** Resolves with the rejection reason of `p`; fails if `p` resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    const value = await p;
    throw new ExpectedRejection(`expected a rejection, got ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 200)}`);
  } catch (err) {
    if (err instanceof ExpectedRejection) throw err;
    return err;
  }
}

class ExpectedRejection extends Error {}

/**
 * Bounds a promise so a hang becomes a test failure naming what hung (rather than a vitest
 * timeout). The bound is generous: it is a hang detector, not a timing assertion.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true (or throws after `ms`). */
export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Raw protocol connection (PostgreSQL docs, "Frontend/Backend Protocol", 55.2 and 55.7)

export interface BackendMessage {
  type: string;
  body: Buffer;
}

/** Fields of an ErrorResponse/NoticeResponse body: code byte → value (55.8). */
export function parseErrorFields(body: Buffer): Record<string, string> {
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

/** A frontend message: type byte, Int32 length (counting itself), body. */
export function frontendMessage(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** StartupMessage, protocol 3.0 (55.7). */
export function startupMessage(params: Record<string, string>): Buffer {
  const pairs = Object.entries(params).flatMap(([k, v]) => [Buffer.from(k + '\0'), Buffer.from(v + '\0')]);
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), ...pairs, Buffer.from([0])]);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}

/** A simple Query message. */
export function queryMessage(sql: string): Buffer {
  return frontendMessage('Q', Buffer.from(sql + '\0'));
}

/**
 * A bare TCP connection speaking the wire protocol by hand, for sending bytes no driver would.
 * Collects backend messages; `closed` resolves when the peer closes.
 */
export class RawConnection {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly queue: BackendMessage[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Authentication request codes received during `login` (3 cleartext, 5 md5, 10 SASL, ...). */
  readonly authRequests: number[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A reset after the server's FATAL is expected; the 'close' event still fires.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  static open(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RawConnection(s));
      });
    });
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      // A write error here means the peer already closed: the test inspects what it received.
      this.socket.write(bytes, () => resolve());
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 5) {
      const len = this.buffered.readInt32BE(1);
      if (this.buffered.length < 1 + len) break;
      this.queue.push({ type: String.fromCharCode(this.buffered[0]!), body: this.buffered.subarray(5, 1 + len) });
      this.buffered = this.buffered.subarray(1 + len);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next backend message, or undefined once the connection closed with nothing left. */
  async next(): Promise<BackendMessage | undefined> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Reads until `pred` matches; throws if the connection closes first. */
  async until(pred: (m: BackendMessage) => boolean): Promise<BackendMessage> {
    for (;;) {
      const m = await this.next();
      if (!m) throw new Error('connection closed before the expected message');
      if (pred(m)) return m;
    }
  }

  /** All messages until the peer closes. */
  async drain(): Promise<BackendMessage[]> {
    const all: BackendMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (!m) return all;
      all.push(m);
    }
  }

  /**
   * Sends a StartupMessage and completes authentication (cleartext, md5 or SCRAM-SHA-256), up to
   * the first ReadyForQuery. Throws with the ErrorResponse fields if the server refuses.
   */
  async login(c: ConnSettings): Promise<void> {
    await this.write(startupMessage({ user: c.user, database: c.database, application_name: 'switchyard-raw' }));
    let scram: ScramClient | undefined;
    for (;;) {
      const m = await this.next();
      if (!m) throw new Error('connection closed during login');
      if (m.type === 'E') throw new Error(`login refused: ${JSON.stringify(parseErrorFields(m.body))}`);
      if (m.type === 'Z') return;
      if (m.type !== 'R') continue;
      const kind = m.body.readInt32BE(0);
      this.authRequests.push(kind);
      if (kind === 0) continue; // AuthenticationOk
      if (kind === 3) {
        await this.write(frontendMessage('p', Buffer.from(c.password + '\0')));
      } else if (kind === 5) {
        // md5: 'md5' + md5(md5(password || user) || salt) (55.3.2)
        const inner = createHash('md5').update(c.password + c.user).digest('hex');
        const outer = createHash('md5').update(Buffer.concat([Buffer.from(inner), m.body.subarray(4, 8)])).digest('hex');
        await this.write(frontendMessage('p', Buffer.from('md5' + outer + '\0')));
      } else if (kind === 10) {
        scram = new ScramClient(c.password);
        const first = Buffer.from(scram.clientFirst());
        const mech = Buffer.from('SCRAM-SHA-256\0');
        const len = Buffer.alloc(4);
        len.writeInt32BE(first.length);
        await this.write(frontendMessage('p', Buffer.concat([mech, len, first])));
      } else if (kind === 11) {
        if (!scram) throw new Error('SASLContinue before SASL');
        await this.write(frontendMessage('p', Buffer.from(scram.clientFinal(m.body.subarray(4).toString('utf8')))));
      } else if (kind === 12) {
        if (!scram) throw new Error('SASLFinal before SASL');
        scram.verifyServerFinal(m.body.subarray(4).toString('utf8'));
      } else {
        throw new Error(`unsupported authentication request ${kind}`);
      }
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** SCRAM-SHA-256 client side (RFC 5802 §3, RFC 7677), as PostgreSQL uses it (55.3.1). */
class ScramClient {
  private readonly password: string;
  private readonly nonce = randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private expectedServerSignature = '';

  constructor(password: string) {
    this.password = password;
  }

  clientFirst(): string {
    // PostgreSQL takes the user from the startup message, so the SCRAM username is empty.
    this.clientFirstBare = `n=,r=${this.nonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce)) throw new Error('server nonce does not extend the client nonce');
    const finalWithoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${finalWithoutProof}`;
    const salted = pbkdf2Sync(this.password, salt, iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    this.expectedServerSignature = createHmac('sha256', serverKey).update(authMessage).digest('base64');
    return `${finalWithoutProof},p=${proof.toString('base64')}`;
  }

  verifyServerFinal(serverFinal: string): void {
    if (serverFinal !== `v=${this.expectedServerSignature}`) throw new Error(`bad SCRAM server signature: ${serverFinal}`);
  }
}

/**
 * Reads everything a raw connection receives until it closes and returns the first
 * ErrorResponse's fields (undefined if none came).
 */
export async function firstErrorUntilClose(conn: RawConnection): Promise<Record<string, string> | undefined> {
  const msgs = await conn.drain();
  const err = msgs.find((m) => m.type === 'E');
  return err ? parseErrorFields(err.body) : undefined;
}
