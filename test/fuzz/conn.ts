// One fuzzing connection: a socket whose backend messages are counted, not kept (a COPY OUT of
// megabytes costs nothing), with a wait that ends on a condition, on the peer going quiet, or on
// a cap — never a fixed sleep. Also the well-behaved login the fuzzer uses to reach the states
// behind authentication (SCRAM-SHA-256 or md5), with a hook to mutate the exchange itself.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { md5Response } from '../../pooler/src/auth/md5.ts';
import { ScramClientSession } from '../../pooler/src/auth/scram-client.ts';
import { MessageFramer } from '../../pooler/src/net/framer.ts';
import * as f from './frontend.ts';

/** Fields of an ErrorResponse body (field code → value). */
export function errorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out[String.fromCharCode(body[i]!)] = body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return out;
}

export interface Observed {
  /** `${severity} ${sqlstate}` → count, over every connection. */
  readonly errors: Map<string, number>;
  /** The first message seen for each internal-error class SQLSTATE (XX…, 58…): worth a look. */
  readonly internal: Map<string, string>;
  /** Backend streams that did not frame (the pooler sent something that is no message). */
  badBackendStreams: number;
  /** Time the fuzz connections spent waiting, by `<what>:<how it ended>` (done, closed, quiet, cap). */
  readonly waits: Map<string, { n: number; ms: number }>;
}

export class FuzzConn {
  socket: Socket;
  /** Typed backend messages are framed once `framed()` is called (after any one-byte SSL answer). */
  private framer: MessageFramer | null = null;
  private readonly observed: Observed;
  private waiter: (() => void) | null = null;
  bytesIn = 0;
  /** Backend messages received, by type byte. */
  readonly seen = new Uint32Array(256);
  ready = 0;
  /** The last ReadyForQuery's transaction status ('I', 'T', 'E'), or 0. */
  txStatus = 0;
  lastDataAt = Date.now();
  isClosed = false;
  /** Types of the messages received, in order, while `recording` (login and state set-up only). */
  recording: { type: string; body: Buffer }[] | null = null;
  /** Raw bytes before framing starts (an SSL answer, a FATAL to a bad start-up packet). */
  private raw: Buffer[] = [];
  readonly closed: Promise<void>;
  processId = 0;
  secretKey = 0;

  private constructor(socket: Socket, observed: Observed) {
    this.socket = socket;
    this.observed = observed;
    this.closed = new Promise((res) => socket.once('close', () => res()));
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.isClosed = true;
      this.wake();
    });
  }

  static open(host: string, port: number, observed: Observed): Promise<FuzzConn> {
    return new Promise((res, rej) => {
      const s = connect({ host, port });
      s.once('error', rej);
      s.once('connect', () => {
        s.off('error', rej);
        s.setNoDelay(true);
        res(new FuzzConn(s, observed));
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.lastDataAt = Date.now();
    if (this.framer === null) {
      this.raw.push(chunk);
      this.wake();
      return;
    }
    this.framer.push(chunk);
    try {
      for (let m = this.framer.next(); m !== undefined; m = this.framer.next()) this.onMessage(m.type, m.body);
    } catch {
      this.observed.badBackendStreams++;
      this.framer = null;
      this.socket.destroy();
    }
    this.wake();
  }

  private onMessage(type: number, body: Buffer): void {
    this.seen[type] = this.seen[type]! + 1;
    if (type === 0x5a) {
      this.ready++;
      this.txStatus = body[0] ?? 0;
    } else if (type === 0x45) {
      const e = errorFields(body);
      const key = `${e.V ?? e.S ?? '?'} ${e.C ?? '?'}`;
      this.observed.errors.set(key, (this.observed.errors.get(key) ?? 0) + 1);
      const code = e.C ?? '';
      if (code.startsWith('XX') || code.startsWith('58')) {
        const kind = `${code} ${(e.M ?? '').replace(/\d+/g, 'N')}`;
        if (this.observed.internal.size < 50 && !this.observed.internal.has(kind)) this.observed.internal.set(kind, e.M ?? '');
      }
    } else if (type === 0x4b && body.length >= 8) {
      this.processId = body.readInt32BE(0);
      this.secretKey = body.readInt32BE(4);
    }
    if (this.recording !== null) this.recording.push({ type: String.fromCharCode(type), body: Buffer.from(body) });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Bytes received before framing started. */
  rawBytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  /** Starts framing typed backend messages; `skip` raw bytes already received are not part of them. */
  framed(skip = 0): void {
    const rest = this.rawBytes().subarray(skip);
    this.raw = [];
    this.framer = new MessageFramer(0x7fffffff);
    if (rest.length > 0) this.onData(rest);
  }

  /** Replaces the socket with a TLS socket on top of it (after the pooler's 'S'); resolves once the handshake is done. */
  upgradeTls(): Promise<boolean> {
    return new Promise((res) => {
      const plain = this.socket;
      plain.removeAllListeners('data');
      const tls = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: undefined });
      this.socket = tls;
      this.attach(tls);
      tls.once('secureConnect', () => res(true));
      tls.once('error', () => res(false));
      tls.once('close', () => res(false));
    });
  }

  /** Resolves once the bytes are handed to the kernel (or the socket is gone). */
  write(bytes: Buffer): Promise<void> {
    return new Promise((res) => {
      if (this.socket.destroyed || !this.socket.writable) return res();
      this.socket.write(bytes, () => res());
    });
  }

  /**
   * Waits until `done()` holds, the connection closes, nothing has arrived for `quietMs` since
   * the later of the call and the last received bytes, or `capMs` passed. True when `done()` held.
   */
  async settle(what: string, done: () => boolean, quietMs: number, capMs: number): Promise<boolean> {
    const start = Date.now();
    const record = (how: string, result: boolean): boolean => {
      const key = `${what}:${how}`;
      const w = this.observed.waits.get(key) ?? { n: 0, ms: 0 };
      w.n++;
      w.ms += Date.now() - start;
      this.observed.waits.set(key, w);
      return result;
    };
    for (;;) {
      if (done()) return record('done', true);
      if (this.isClosed) return record('closed', false);
      const now = Date.now();
      const idleFor = now - Math.max(start, this.lastDataAt);
      if (idleFor >= quietMs) return record('quiet', false);
      if (now - start >= capMs) return record('cap', false);
      const wait = Math.min(quietMs - idleFor, capMs - (now - start));
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.max(1, wait));
        this.waiter = () => {
          clearTimeout(t);
          res();
        };
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface LoginTarget {
  user: string;
  database: string;
  password: string;
}

/** How the login's own messages may be altered: returns what to send instead of `bytes`. */
export type AuthHook = (step: 'sasl-initial' | 'sasl-response' | 'md5' | 'startup', bytes: Buffer) => Buffer;

export type LoginResult = { ok: true } | { ok: false; error: Record<string, string> | undefined };

/**
 * Logs in as a libpq-like client would (the StartupMessage already framed by `startup`), up to the
 * first ReadyForQuery or an ErrorResponse. Gives up (ok: false) after `capMs`.
 */
export async function login(conn: FuzzConn, t: LoginTarget, hook: AuthHook | null, startup: Buffer, capMs = 15_000): Promise<LoginResult> {
  conn.framed();
  conn.recording = [];
  await conn.write(hook ? hook('startup', startup) : startup);
  let scram: ScramClientSession | undefined;
  let seen = 0;
  const deadline = Date.now() + capMs;
  try {
    for (;;) {
      const got = await conn.settle('login', () => conn.recording!.length > seen, capMs, Math.max(1, deadline - Date.now()));
      if (!got) return { ok: false, error: undefined };
      const m = conn.recording![seen++]!;
      if (m.type === 'E') return { ok: false, error: errorFields(m.body) };
      if (m.type === 'Z') return { ok: true };
      if (m.type !== 'R') continue;
      const kind = m.body.readInt32BE(0);
      try {
        if (kind === 10) {
          scram = new ScramClientSession(t.password);
          const b = f.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst());
          await conn.write(hook ? hook('sasl-initial', b) : b);
        } else if (kind === 11) {
          const b = f.saslResponse(await scram!.serverFirst(m.body.toString('utf8', 4)));
          await conn.write(hook ? hook('sasl-response', b) : b);
        } else if (kind === 12) {
          scram!.serverFinal(m.body.toString('utf8', 4));
        } else if (kind === 5) {
          const b = f.passwordMessage(md5Response(t.password, t.user, m.body.subarray(4, 8)));
          await conn.write(hook ? hook('md5', b) : b);
        } else if (kind === 3) {
          await conn.write(f.passwordMessage(t.password));
        }
      } catch {
        // A mutated exchange can make the pooler's answer unusable to us: stop here.
        return { ok: false, error: undefined };
      }
    }
  } finally {
    conn.recording = null;
  }
}
