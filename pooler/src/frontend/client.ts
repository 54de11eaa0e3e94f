// One client connection: start-up and authentication (slow path, frontend/login.ts), then the hot
// path that forwards whole chunks between the client and whichever server connection it holds.
//
// Transaction pooling rule: a server connection goes back to the pool only on ReadyForQuery 'I'
// with no request outstanding (every Query, Sync and FunctionCall the client sent has had its
// ReadyForQuery) and with the client's stream at a message boundary, so the next client starts on
// a clean connection. Protocol docs, "Extended Query": each Sync yields exactly one ReadyForQuery.
import type { Socket } from 'node:net';
import type { Pool, PoolClient } from '../backend/pool.ts';
import type { ServerConnection, ServerLink } from '../backend/server.ts';
import { PoolerError, type DisconnectReason } from '../errors.ts';
import type { Logger } from '../log.ts';
import * as msg from '../net/messages.ts';
import { ScanError, Scanner, type ScanSink } from '../net/scanner.ts';
import type { TenantRoute } from '../config/snapshot.ts';
import { resetServer, runHidden } from '../backend/reset.ts';
import { abandonServer } from '../backend/abandon.ts';
import { parseParameterStatus } from '../net/parse.ts';
import { TRACKED_PARAMETERS, settingsToApply } from './session-params.ts';
import { replayFatal } from './startup-check.ts';

const TRACKED: ReadonlySet<string> = new Set(TRACKED_PARAMETERS);
/** Server connections that may break while a client's parameters are applied before it gets an error. */
const MAX_REPLAY_ATTEMPTS = 3;

/**
 * Writes several buffers as one writev (many, e.g. tracked mode's 5-byte local replies, as one
 * buffer: each buffer queued in a socket costs far more than its bytes); returns false when the
 * socket wants the caller to wait.
 */
function writeAll(socket: Socket, bufs: Buffer[]): boolean {
  if (bufs.length === 1) return socket.write(bufs[0]!);
  if (bufs.length > 16) return socket.write(Buffer.concat(bufs));
  socket.cork();
  let ok = true;
  for (const b of bufs) ok = socket.write(b);
  socket.uncork();
  return ok;
}

/** A server's FATAL ErrorResponse as an ERROR: the client's session goes on. */
function downgradeFatal(fatal: Buffer): Buffer {
  try {
    const f = parseErrorFields(fatal.subarray(5));
    f.S = 'ERROR';
    if (f.V !== undefined) f.V = 'ERROR';
    return encodeErrorFields(0x45, f);
  } catch {
    return msg.errorResponse({ severity: 'ERROR', code: '08006', message: 'the server connection was lost' });
  }
}

/** A clock updated ten times a second: the hot path stamps activity without a syscall. */
let coarseNow = Date.now();
setInterval(() => (coarseNow = Date.now()), 100).unref();
const EMPTY = Buffer.alloc(0);
/** Before login the client has no parameters; login gives it a shared map (session-params.ts). */
const NO_PARAMS: ReadonlyMap<string, string> = new Map();
/** Release at a transaction boundary: no transaction to roll back, no session to discard. */
const NOTHING_TO_UNDO = { rollback: false, discardAll: false } as const;
const LISTEN_REFUSED = msg.errorResponse({
  severity: 'ERROR',
  code: '0A000',
  message: 'LISTEN is not supported in transaction pooling mode',
  detail: 'notifications are delivered to a server session, which in transaction mode is shared; the LISTEN was undone',
  hint: 'use a tenant in session mode for LISTEN/NOTIFY',
});
/**
 * For a LISTEN whose CommandComplete reached the client before the pooler could refuse it (it was
 * split across reads, see inspectLate): a warning, as notices may come at any time (protocol
 * docs, "Asynchronous Operations"), since the success cannot be taken back.
 */
const LISTEN_UNDONE_NOTICE = msg.noticeResponse({
  severity: 'WARNING',
  code: '0A000',
  message: 'LISTEN is not supported in transaction pooling mode',
  detail: 'notifications are delivered to a server session, which in transaction mode is shared; the LISTEN will be undone and no notification will arrive',
  hint: 'use a tenant in session mode for LISTEN/NOTIFY',
});
import { ProtocolError } from '../net/framer.ts';
import { parseErrorFields } from '../net/parse.ts';
import { endsAllStatements, endsServerStatements, type StatementRegistry } from '../prepared/registry.ts';
import { TrackedSession, type TrackedHost } from './tracked.ts';
import { LostTransaction } from './lost-transaction.ts';
import { SplitCapture } from './split-capture.ts';
import { PORTAL_BATCH, PORTAL_EARLIER, PORTAL_GONE_ERROR, PORTAL_GONE_PARSE, PORTAL_NONE, isPortalGoneRefusal, targetsUnnamedPortal, unnamedPortalSafe } from './unnamed-portal.ts';
import { encodeErrorFields } from '../net/extended.ts';
import {
  INPUT_HIGH_WATER,
  OUTPUT_HIGH_WATER,
  OUTSTANDING_HIGH_WATER,
  OUTSTANDING_LOW_WATER,
  onceDrain,
} from '../net/backpressure.ts';

const Q = 0x51;
const S = 0x53;
const F = 0x46;
const X = 0x58;
const P = 0x50;
const Z = 0x5a;
const E = 0x45;
/** Flush: makes the server send the replies it holds back (protocol docs, "Extended Query"). */
const FLUSH = Buffer.from([0x48, 0, 0, 0, 4]);
const CC = 0x43; // CommandComplete (server) / Close (client)
const IDLE = 0x49; // 'I'

/** The server messages inspect() looks into: ParameterStatus, ErrorResponse, and CommandComplete for SET/RESET, DISCARD/DEALLOCATE and LISTEN. */
function inspectable(type: number, first: number): boolean {
  if (type === CC) return first === 0x44 /* D */ || first === 0x53 /* S */ || first === 0x52 /* R */ || first === 0x4c /* L */;
  return type === S || type === E;
}

export interface ClientHost {
  readonly log: Logger;
  readonly maxMessageSize: number;
  readonly draining: boolean;
  /** A tenant's named prepared statements, shared by its clients (transaction mode). */
  statementRegistry(tenantId: string): StatementRegistry;
  /** Server-side prepared statements kept per server connection (LRU). */
  readonly preparedCacheSize: number;
  clientGone(client: ClientConnection, reason: DisconnectReason): void;
}

let nextClientId = 1;

export class ClientConnection implements PoolClient, ServerLink, ScanSink, TrackedHost {
  readonly id = nextClientId++;
  readonly socket: Socket;
  readonly host: ClientHost;
  readonly connectedAt = Date.now();
  /** The pooler-issued BackendKeyData for this client (for CancelRequest). */
  processId = 0;
  secretKey = 0;
  route: TenantRoute | null = null;
  pool: Pool | null = null;
  server: ServerConnection | null = null;
  /** Created on first use: a child logger per client costs memory most clients never need. */
  private logger: Logger | undefined;
  /** Requests sent whose ReadyForQuery has not come back yet. */
  pending = 0;
  /** Fast path: extended-protocol messages forwarded since the last Sync. */
  private unsynced = false;
  /** Fast path: replies still owed to forwarded Parse/Bind/Describe/Execute/Close messages. */
  private owed = 0;
  /** Fast path: header bytes of a message at the end of the last chunk, not yet forwarded. */
  private carry: Buffer | null = null;
  /**
   * Whether a Bind to the unnamed portal went to the server since the last Query (or since the
   * client got that server connection), and before or after the last Sync: PORTAL_NONE, _BATCH or
   * _EARLIER. Decides whether an Execute/Describe of '' may reach it (unnamed-portal.ts).
   */
  unnamedPortal = PORTAL_NONE;
  /** Fast path: [start, end] of each Execute/Describe of '' in the current chunk to send as PORTAL_GONE_PARSE. */
  private portalSwaps: number[] | null = null;
  /** Fast path: bytes at the start of the next chunk(s) that belong to a message already replaced. */
  private swallow = 0;
  /** Stand-in Parses sent whose refusal (42601) is still to be answered as 34000. */
  portalGone = 0;
  /** Set once the client uses named prepared statements in transaction mode. */
  private tracked: TrackedSession | null = null;
  /**
   * The server chunk being scanned (tag and error inspection on the fast path); EMPTY again once
   * it is written, so an idle client does not keep its last reply alive.
   */
  private serverChunk: Buffer = EMPTY;
  /**
   * Fast path: [start, end, replacement] triples for messages of the current chunk to rewrite;
   * null when there are none (most chunks, and every idle client).
   */
  private replacements: Array<number | Buffer> | null = null;
  /** Transaction status from the last ReadyForQuery ('I', 'T' or 'E'). */
  txStatus = IDLE;
  private transactionMode = true;
  private scanner: Scanner;
  /** Chunks waiting for a server connection; null when none (never an empty array). */
  private queued: Buffer[] | null = null;
  /** Bytes in `queued`. */
  private queuedBytes = 0;
  /** Not read because its backlog passed a high-water mark (net/backpressure.ts). */
  private throttled = false;
  private drainHooked = false;
  private unthrottleFn: (() => void) | null = null;
  private waiting = false;
  private releaseAfterWrite = false;
  /** An intercepted message (Terminate, unsupported Parse) and its offset in the current chunk. */
  private stopType = 0;
  private stopAt = 0;
  private closed = false;
  /** Set by closeAtBoundary while a transaction is in progress. */
  private closeAfter: { err: PoolerError; reason: DisconnectReason } | null = null;
  private readonly serverSink: ScanSink;
  /** 'drain' listeners, created at the first backpressure (most clients never see any). */
  private resumeServerFn: (() => void) | null = null;
  private resumeClientFn: (() => void) | null = null;
  /**
   * The ParameterStatus values this client was told (frontend/session-params.ts). Shared,
   * read-only, with its `defaults` (and other clients') until it changes one: see setParam.
   */
  params: ReadonlyMap<string, string> = NO_PARAMS;
  /** The values it was told at login: what RESET and DISCARD ALL return it to. */
  defaults: ReadonlyMap<string, string> = NO_PARAMS;
  /** Server connections that broke while its session parameters were applied, in a row. */
  private replayFailures = 0;
  /** Set while the client is inside a transaction whose server connection died. */
  private lost: LostTransaction | null = null;
  /** A FATAL ErrorResponse the linked server sent just before closing (transaction mode). */
  private serverFatal: Buffer | null = null;
  /** An inspected server message that a read split, completed from the next read(s) (split-capture.ts). */
  private split: SplitCapture | null = null;
  /** Coarse time (ms) of the client's or its server's last bytes, for the idle timeouts. */
  lastActive = Date.now();
  /** When the oldest outstanding request started (0 = none), for query_timeout. */
  private busySince = 0;
  /** Counters for SHOW CLIENTS / STATS. */
  transactions = 0;
  bytesIn = 0;
  bytesOut = 0;

  /** Built by the login once the client has authenticated and been admitted (frontend/login.ts). */
  constructor(socket: Socket, host: ClientHost, route: TenantRoute, pool: Pool) {
    this.socket = socket;
    this.host = host;
    this.route = route;
    this.pool = pool;
    this.transactionMode = route.pool.mode === 'transaction';
    this.scanner = new Scanner(host.maxMessageSize);
    this.serverSink = new ServerSink(this);
  }

  private get resumeServer(): () => void {
    return (this.resumeServerFn ??= () => this.server?.socket.resume());
  }

  private get resumeClient(): () => void {
    return (this.resumeClientFn ??= () => {
      if (!this.throttled) this.socket.resume();
    });
  }

  get log(): Logger {
    this.logger ??= this.host.log.child(this.route === null ? { client: this.id } : { client: this.id, tenant: this.route.id });
    return this.logger;
  }

  /** Called by the login once the client has been told ReadyForQuery; `rest` = bytes it sent meanwhile. */
  enterReady(rest: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    // One listener for the three ways the socket can go ('close' passes a boolean, 'end' nothing):
    // each closure costs memory per idle client.
    const gone = (err?: unknown): void => {
      if (err instanceof Error && this.host.log.isLevelEnabled('debug')) this.log.debug({ err: err.message }, 'client socket error');
      this.close('client_close');
    };
    this.socket.on('error', gone);
    this.socket.on('close', gone);
    this.socket.on('end', gone);
    if (rest.length > 0) this.onClientData(rest);
  }

  // ---- client → server -------------------------------------------------------------------

  private onClientData(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesIn += chunk.length;
    this.lastActive = coarseNow;
    if (this.lost !== null) return this.onLostTransactionData(chunk);
    if (this.tracked !== null) return this.onTrackedClientData(chunk);
    const pendingBefore = this.pending;
    const unsyncedBefore = this.unsynced;
    const owedBefore = this.owed;
    const portalBefore = this.unnamedPortal;
    const tailBefore = this.scanner.bodyRemaining();
    try {
      this.scanner.scan(chunk, this);
    } catch (err) {
      if (err instanceof ScanError) return this.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation');
      throw err;
    }
    if (this.stopType === P) {
      // Tracked mode re-frames this chunk from its start and sees its Binds and Queries again.
      this.unnamedPortal = portalBefore;
      this.portalSwaps = null;
      return this.startTracking(chunk, pendingBefore, unsyncedBefore && owedBefore > 0, tailBefore);
    }
    if (this.stopType !== 0) return this.onIntercepted(chunk);
    // Hold back a message header split at the end of the chunk: the message may still be one we
    // intercept, and its first bytes must not have reached the server by then.
    const held = this.scanner.heldBytes();
    if (held > chunk.length) {
      // A header split over three or more reads: all of it is still held back.
      this.carry = this.carry === null ? Buffer.from(chunk) : Buffer.concat([this.carry, chunk]);
      return;
    }
    if (this.portalSwaps !== null || this.swallow > 0) return this.forwardSwapped(chunk, chunk.length - held);
    if (this.carry !== null) {
      this.forward(this.carry);
      this.carry = null;
    }
    if (held === 0) this.forward(chunk);
    else {
      this.forward(chunk.subarray(0, chunk.length - held));
      this.carry = Buffer.from(chunk.subarray(chunk.length - held));
    }
  }

  onMessage(type: number, first: number, start: number, length: number): boolean | void {
    switch (type) {
      case Q:
        // A simple Query destroys the unnamed portal (protocol docs, "Extended Query").
        this.pending++;
        this.unnamedPortal = PORTAL_NONE;
        return;
      case F:
        this.pending++;
        return;
      case S:
        this.pending++;
        this.unsynced = false;
        if (this.unnamedPortal === PORTAL_BATCH) this.unnamedPortal = PORTAL_EARLIER;
        return;
      case X:
        this.stopType = X;
        this.stopAt = start;
        return true;
      case P:
        // A named statement in transaction mode must be mapped per server connection: from here
        // on this client is tracked (frontend/tracked.ts).
        if (this.transactionMode && first !== 0) {
          this.stopType = P;
          this.stopAt = start;
          return true;
        }
        this.unsynced = true;
        this.owed++;
        return;
      case 0x42: // Bind
        if (first === 0) this.unnamedPortal = PORTAL_BATCH;
        this.unsynced = true;
        this.owed++;
        return;
      case 0x44: // Describe
      case 0x45: // Execute
        if (targetsUnnamedPortal(type, first, length) && !unnamedPortalSafe(this.unnamedPortal, this.pending, this.txStatus)) {
          (this.portalSwaps ??= []).push(start, start + 1 + length);
          this.portalGone++;
        }
        this.unsynced = true;
        this.owed++;
        return;
      case 0x43: // Close
        this.unsynced = true;
        this.owed++;
        return;
      case 0x48: // Flush
      case 0x64: // CopyData
      case 0x63: // CopyDone
      case 0x66: // CopyFail
      case 0x70: // PasswordMessage family (valid only during authentication, the server rejects it)
        return;
      default:
        // PostgreSQL answers an unknown type with FATAL 08P01 "invalid frontend message type";
        // we do the same before it reaches (and kills) a shared server connection.
        this.stopType = type;
        this.stopAt = start;
        return true;
    }
  }

  /**
   * Switches to tracked mode at the first named Parse. The current chunk (and any held-back header
   * bytes) has not been forwarded yet, so it is re-framed from its start; replies to requests
   * forwarded earlier pass through a barrier that waits for their ReadyForQuery. `tailBefore`: the
   * chunk begins with that many bytes of a message whose start went before (forwarded or queued).
   */
  private startTracking(chunk: Buffer, pendingBefore: number, repliesInFlight: boolean, tailBefore: number): void {
    this.stopType = 0;
    if (repliesInFlight) {
      // Earlier extended-protocol messages still await replies, with no Sync after them: their
      // replies have no boundary we could wait for. Refuse clearly rather than guess. (Once their
      // replies have arrived — a Flush-terminated batch — tracking starts cleanly.)
      return this.fail(
        new PoolerError('FEATURE_NOT_SUPPORTED', 'a named Parse arrived while unsynchronized extended-protocol messages were in flight', {
          hint: 'send Sync before the first named prepared statement',
        }),
        'unsupported_feature',
        false,
      );
    }
    this.pending = pendingBefore;
    this.tracked = new TrackedSession(this, this.host.maxMessageSize, pendingBefore);
    const carry = this.carry;
    this.carry = null;
    if (this.swallow > 0) {
      // The rest of a message already sent as PORTAL_GONE_PARSE (no carry then: it began earlier).
      chunk = chunk.subarray(this.swallow);
      this.swallow = 0;
    } else if (tailBefore > 0) {
      // The rest of a message whose start went to the server (or its queue) in an earlier read:
      // it follows its start as is; tracked framing begins at the first message starting here.
      this.forward(chunk.subarray(0, tailBefore));
      chunk = chunk.subarray(tailBefore);
    }
    this.onTrackedClientData(carry === null ? chunk : Buffer.concat([carry, chunk]));
  }

  private onTrackedClientData(chunk: Buffer): void {
    const tracked = this.tracked!;
    try {
      tracked.onClientData(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation', false);
      throw err;
    }
    if (this.closed) return;
    // The pooler's own replies, the requests awaiting replies, and the bytes held without a
    // server connection are bounded: past a high-water mark, stop reading the client.
    if (tracked.outstanding > OUTSTANDING_HIGH_WATER && this.server !== null) {
      // The server may hold back replies to those requests until a Sync or Flush the client has
      // not sent yet (it flushes when its buffer fills, or at Sync/Flush): ask for them, so that the
      // outstanding requests can drain while the client is not read. No reply, harmless in COPY.
      this.writeToServer([FLUSH]);
      this.throttle();
    } else if (this.socket.writableLength > OUTPUT_HIGH_WATER || (this.server === null && tracked.framer.buffered > INPUT_HIGH_WATER)) {
      this.throttle();
    }
  }

  // ---- TrackedHost ------------------------------------------------------------------------

  get registry(): StatementRegistry {
    return this.host.statementRegistry(this.route!.id);
  }

  get cacheSize(): number {
    return this.host.preparedCacheSize;
  }

  writeToServer(bufs: Buffer[]): void {
    const server = this.server!;
    if (!writeAll(server.socket, bufs)) {
      this.socket.pause();
      onceDrain(server.socket, this.resumeClient);
    }
  }

  writeToClient(bufs: Buffer[]): void {
    if (bufs.length === 0) return;
    if (!writeAll(this.socket, bufs) && this.server !== null) {
      this.server.socket.pause();
      onceDrain(this.socket, this.resumeServer);
    }
  }

  requestServer(): void {
    if (this.server === null && !this.waiting) {
      this.waiting = true;
      this.pool!.acquire(this);
    }
  }

  terminated(): void {
    this.close('client_terminate', true);
  }

  protocolViolation(message: string): void {
    this.fail(new PoolerError('PROTOCOL_VIOLATION', message), 'protocol_violation', true);
  }

  private forward(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const server = this.server;
    if (server !== null) {
      if (!server.socket.write(chunk)) {
        this.socket.pause();
        onceDrain(server.socket, this.resumeClient);
      }
      return;
    }
    this.queue(chunk);
  }

  /**
   * Slow path of onClientData: forwards chunk[0, end) with each Execute/Describe of '' recorded in
   * portalSwaps sent as PORTAL_GONE_PARSE instead, and keeps chunk[end..] as the carry. A replaced
   * message may have begun in the held-back carry (start < 0) or end in a later chunk (swallow).
   */
  private forwardSwapped(chunk: Buffer, end: number): void {
    const swaps = this.portalSwaps ?? [];
    this.portalSwaps = null;
    const parts: Buffer[] = [];
    let at = Math.min(this.swallow, end);
    this.swallow -= at;
    if (this.carry !== null && !(swaps.length > 0 && swaps[0]! < 0)) parts.push(this.carry);
    this.carry = null;
    for (let i = 0; i < swaps.length; i += 2) {
      const s = Math.max(swaps[i]!, 0);
      const e = swaps[i + 1]!;
      if (s > at) parts.push(chunk.subarray(at, s));
      parts.push(PORTAL_GONE_PARSE);
      at = Math.min(e, chunk.length);
      if (e > chunk.length) this.swallow = e - chunk.length;
    }
    if (end > at) parts.push(chunk.subarray(at, end));
    if (end < chunk.length) this.carry = Buffer.from(chunk.subarray(end));
    if (parts.length > 0) this.forward(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  /** Holds `chunk` until a server connection comes (asking the pool for one), within INPUT_HIGH_WATER. */
  private queue(chunk: Buffer): void {
    if (this.queued === null) this.queued = [chunk];
    else this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > INPUT_HIGH_WATER) this.throttle();
    if (!this.waiting) {
      this.waiting = true;
      this.pool!.acquire(this);
    }
  }

  private onIntercepted(chunk: Buffer): void {
    const type = this.stopType;
    const at = this.stopAt;
    // Forward what preceded the intercepted message. Held-back header bytes belong to it when it
    // began in the previous chunk (at < 0); either way nothing of it reached the server.
    if (this.portalSwaps !== null || this.swallow > 0) {
      if (at >= 0) this.forwardSwapped(chunk, at);
      else this.portalSwaps = null;
    } else if (at >= 0) {
      if (this.carry !== null) this.forward(this.carry);
      if (at > 0) this.forward(chunk.subarray(0, at));
    }
    this.carry = null;
    if (type === X) return this.close('client_terminate', true);
    this.fail(new PoolerError('PROTOCOL_VIOLATION', `invalid frontend message type ${type}`), 'protocol_violation', true);
  }

  // ---- pool callbacks -------------------------------------------------------------------

  attachServer(server: ServerConnection): void {
    if (this.closed) {
      this.waiting = false;
      this.pool!.release(server);
      return;
    }
    // Give the server connection this client's session parameters first (replies hidden). Clients
    // that share a parameter map (same start-up settings, no SET since) skip the comparison.
    if (server.paramsFor === this.params) return this.linkServer(server);
    const sets = settingsToApply(this.params, server.params);
    if (sets.length === 0) {
      server.paramsFor = this.params;
      return this.linkServer(server);
    }
    runHidden(
      server,
      sets,
      (outcome) => {
        if (outcome.ok && !this.closed) return this.linkServer(server);
        // A refused SET leaves the connection clean: back to the pool.
        if (!server.closed) this.pool!.release(server);
        if (this.closed) return;
        // The server refuses a value this session has (e.g. after a move to another database):
        // the session cannot go on there. One error, never a retry (issue 10: a re-queue per
        // refusal opened server sessions without end).
        if (outcome.error !== undefined) return this.failWith(replayFatal(outcome.error), 'invalid_parameter');
        // That connection broke while being prepared: another one, a bounded number of times.
        if (++this.replayFailures < MAX_REPLAY_ATTEMPTS) return this.pool!.acquire(this);
        this.checkoutFailed(new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: 'while applying the session parameters' }));
      },
      // The server's normalised spelling is what the client now has.
      (name, value) => this.setParam(name, value),
      true,
    );
  }

  private linkServer(server: ServerConnection): void {
    this.waiting = false;
    this.replayFailures = 0;
    this.server = server;
    server.link = this;
    // Bytes queued before the client turned tracked (whole messages, or the start of one whose
    // rest startTracking queued after them) go first; the tracked session's messages follow.
    const q = this.queued;
    if (q !== null) {
      this.dropQueued();
      for (const c of q) this.forward(c);
    }
    if (this.tracked !== null) this.tracked.drain();
    if (this.throttled) this.unthrottle();
  }

  private dropQueued(): void {
    this.queued = null;
    this.queuedBytes = 0;
  }

  // ---- backpressure on the client (net/backpressure.ts) ---------------------------------

  /** Stops reading the client until unthrottle() finds its backlog gone. */
  private throttle(): void {
    if (!this.throttled) {
      this.throttled = true;
      this.socket.pause();
    }
    this.awaitClientDrain();
  }

  /** Calls unthrottle() once the client has taken every reply written to it ('drain'). */
  private awaitClientDrain(): void {
    if (this.drainHooked || !this.socket.writableNeedDrain) return;
    this.drainHooked = true;
    this.socket.once(
      'drain',
      (this.unthrottleFn ??= () => {
        this.drainHooked = false;
        this.unthrottle();
      }),
    );
  }

  /** Reads the client again if it was throttled and every backlog is below its low-water mark. */
  private unthrottle(): void {
    if (!this.throttled || this.closed) return;
    if (this.socket.writableLength > OUTPUT_HIGH_WATER / 4) return this.awaitClientDrain();
    const server = this.server;
    const tracked = this.tracked;
    if (tracked !== null) {
      if (tracked.outstanding > OUTSTANDING_LOW_WATER) {
        // Their replies may be held by the server until a Sync or Flush that this unread client
        // has not got through (e.g. requests sent by linkServer's drain): ask for them, else
        // neither side moves. Only while throttled, at most once per server chunk or 'drain'
        // (written as is: this client is paused already, and resumed below, not by 'drain').
        if (server !== null) server.socket.write(FLUSH);
        return;
      }
      if (server === null && tracked.framer.buffered > INPUT_HIGH_WATER) return;
    } else if (this.queuedBytes > INPUT_HIGH_WATER) return;
    this.throttled = false;
    // A full server socket keeps the client paused; its 'drain' resumes it (as in forward()).
    if (server !== null && server.socket.writableNeedDrain) onceDrain(server.socket, this.resumeClient);
    else this.socket.resume();
  }

  checkoutFailed(err: PoolerError): void {
    this.waiting = false;
    if (this.closed) return;
    // Answer each outstanding request as the server would: an error, then ReadyForQuery. Only
    // possible when the client's stream is at a message boundary and nothing is half-sent.
    let streamAtBoundary: boolean;
    if (this.tracked !== null) {
      const owed = this.tracked.discardQueued();
      // Bytes queued before the client turned tracked (see linkServer) are not counted in `owed`:
      // with any, end the client rather than answer a wrong number of requests.
      streamAtBoundary = owed >= 0 && this.queued === null;
      if (owed >= 0) this.pending = owed;
    } else {
      // The queued chunks are dropped below; what matters is that they end between messages.
      streamAtBoundary = this.carry === null && this.scanner.atBoundary();
    }
    if (err.fatal || this.pending === 0 || !streamAtBoundary) return this.fail(err, 'connect_failed');
    this.dropQueued();
    const out: Buffer[] = [];
    for (let i = 0; i < this.pending; i++) {
      if (i === 0) out.push(msg.errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
      out.push(msg.readyForQuery('I'));
    }
    this.pending = 0;
    this.log.warn({ code: err.code }, err.message);
    this.socket.write(Buffer.concat(out));
    if (this.throttled) this.unthrottle();
  }

  // ---- server → client ------------------------------------------------------------------

  onServerData(chunk: Buffer): void {
    const server = this.server!;
    this.bytesOut += chunk.length;
    this.lastActive = coarseNow;
    // The rest of a split message first: what it changes must be known before what follows it.
    const split = this.split;
    if (split !== null) {
      const end = split.missing;
      if (split.feed(chunk)) this.inspectLate(split, end);
    }
    if (this.tracked !== null) {
      let bufs: Buffer[];
      try {
        bufs = this.tracked.onServerData(chunk, server);
      } catch {
        server.close('server_error');
        return;
      }
      this.writeToClient(bufs);
      if (this.throttled) this.unthrottle();
      if (this.tracked.idleAfterChunk) {
        this.transactions++;
        this.releaseAfterWrite = this.transactionMode || this.closeAfter !== null;
      }
    } else {
      this.serverChunk = chunk;
      try {
        server.scanner.scan(chunk, this.serverSink);
      } catch {
        this.serverChunk = EMPTY;
        this.replacements = null;
        server.close('server_error');
        return;
      }
      this.serverChunk = EMPTY;
      let ok: boolean;
      if (this.replacements === null) ok = this.socket.write(chunk);
      else ok = this.writeReplaced(chunk, this.replacements);
      if (!ok) {
        // Backpressure: stop reading from the server until the client catches up, so a large result
        // to a slow client costs a bounded amount of memory.
        server.socket.pause();
        onceDrain(this.socket, this.resumeServer);
      }
    }
    if (this.pending === 0) this.busySince = 0;
    if (this.releaseAfterWrite) {
      this.releaseAfterWrite = false;
      this.releaseServer();
    }
  }

  /**
   * Called about once a second by the pooler: query_timeout cancels the running query on the
   * server (the client gets 57014 and keeps its session), idle_in_transaction_timeout ends a client
   * that sits in an open transaction (25P03, the transaction is rolled back), client_idle_timeout
   * ends a client idle between transactions (57P05). 0 turns each off.
   */
  checkTimeouts(now: number, cancelServerQuery: (server: ServerConnection) => void): void {
    const route = this.route;
    if (this.closed || route === null) return;
    const p = route.pool;
    const server = this.server;
    if (this.pending > 0) {
      if (this.busySince === 0) this.busySince = now;
      else if (p.query_timeout > 0 && server !== null && now - this.busySince > p.query_timeout * 1000) {
        this.log.warn({ seconds: p.query_timeout }, 'query_timeout: cancelling the running query');
        this.busySince = now;
        cancelServerQuery(server);
      }
      return;
    }
    this.busySince = 0;
    const idleMs = now - this.lastActive;
    if (server !== null && this.txStatus !== IDLE) {
      if (p.idle_in_transaction_timeout > 0 && idleMs > p.idle_in_transaction_timeout * 1000) {
        this.fail(
          new PoolerError('IDLE_IN_TRANSACTION_TIMEOUT', 'terminating connection due to idle-in-transaction timeout', {
            detail: `the transaction was idle for more than ${p.idle_in_transaction_timeout} s and has been rolled back`,
          }),
          'idle_in_transaction_timeout',
        );
      }
      return;
    }
    if (p.client_idle_timeout > 0 && !this.waiting && idleMs > p.client_idle_timeout * 1000 && this.clientAtBoundary()) {
      this.fail(new PoolerError('CLIENT_IDLE_TIMEOUT', 'terminating connection due to idle-session timeout'), 'client_idle_timeout', true);
    }
  }

  /** Writes `chunk` with the messages recorded in `replacements` rewritten (rare: see inspect). */
  private writeReplaced(chunk: Buffer, r: Array<number | Buffer>): boolean {
    this.replacements = null;
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < r.length; i += 3) {
      const start = r[i] as number;
      parts.push(chunk.subarray(at, start), r[i + 2] as Buffer);
      at = r[i + 1] as number;
    }
    parts.push(chunk.subarray(at));
    return this.socket.write(Buffer.concat(parts));
  }

  /** Fast-path inspection of one server message (called through ServerSink). */
  onServerMessage(type: number, first: number, start: number, length: number): void {
    switch (type) {
      case 0x32: // BindComplete: planning may have run functions (constant folding)
      case 0x73: // PortalSuspended
        this.server!.dirty = true;
        if (this.owed > 0) this.owed--;
        return;
      case 0x31: // ParseComplete
      case 0x33: // CloseComplete
      case 0x6e: // NoData
      case 0x54: // RowDescription
      case 0x49: // EmptyQueryResponse
        if (this.owed > 0) this.owed--;
        return;
      case 0x56: // FunctionCallResponse
        this.server!.dirty = true;
        return;
      case Z:
        this.owed = 0;
        if (this.pending > 0) this.pending--;
        this.txStatus = first;
        if (first === IDLE && this.pending === 0) {
          this.transactions++;
          if ((this.transactionMode || this.closeAfter !== null) && this.clientAtBoundary()) this.releaseAfterWrite = true;
        }
        return;
      case CC:
      case E:
      case S: {
        // CommandComplete ends an Execute; after an ErrorResponse the server skips to Sync. Either
        // means a statement ran: the session may hold state the next client must not see.
        if (type === CC) {
          if (this.owed > 0) this.owed--;
          this.server!.dirty = true;
        } else if (type === E) {
          this.owed = 0;
          this.server!.dirty = true;
        }
        const r = this.inspectOrCapture(type, first, start, length, this.serverChunk);
        if (r !== null) (this.replacements ??= []).push(start, start + 1 + length, r);
        return;
      }
    }
  }

  /**
   * Looks into the few server messages that change what the pooler must know (called from both
   * the fast path and tracked mode) and returns a replacement for the message, or null to pass it:
   * - ParameterStatus keeps the client's and the server's parameter maps; a tracked parameter
   *   that went back to the server connection's default (RESET, DISCARD ALL) is reported to the
   *   client as its own default instead (frontend/session-params.ts);
   * - CommandComplete "SET"/"RESET": session state that must not leak (RESET ALL at release);
   *   "DISCARD ALL"/"DEALLOCATE": the server's prepared statements are gone; "LISTEN" in
   *   transaction mode: refused with 0A000 (and UNLISTEN * before the connection is reused);
   * - ErrorResponse: SQLSTATEs that hint at a failover.
   * A message split across reads is inspected once its last bytes arrive (inspectLate), too late
   * to be rewritten but in time for the state it changes.
   */
  private inspect(type: number, first: number, start: number, length: number, chunk: Buffer): Buffer | null {
    if (!inspectable(type, first)) return null;
    if (start < 0 || start + 1 + length > chunk.length) return null;
    const body = chunk.subarray(start + 5, start + 1 + length);
    const server = this.server;
    try {
      if (type === S) return this.onParameterStatus(body);
      if (type === CC) {
        const tag = body.toString('latin1', 0, body.length - 1);
        if (endsServerStatements(tag)) {
          // However it was sent (simple query or extended protocol), it ends the client's names too.
          if (endsAllStatements(tag)) {
            server?.statements.clear();
            this.tracked?.statements.clear();
          } else server?.statements.forgetUnsure();
        } else if (tag === 'LISTEN' && this.transactionMode && server !== null) {
          // Undone by the DISCARD ALL at release (the CommandComplete marked the connection dirty).
          return LISTEN_REFUSED;
        }
        return null;
      }
      const f = parseErrorFields(body);
      if (this.portalGone > 0 && isPortalGoneRefusal(f)) {
        this.portalGone--;
        return PORTAL_GONE_ERROR;
      }
      if (f.C !== undefined) this.pool?.onServerSqlstate(f.C);
      if (this.transactionMode && (f.S === 'FATAL' || f.S === 'PANIC')) {
        // The server is about to hang up (admin shutdown, failover): the client decides nothing
        // from this message; onServerClosed answers it instead (and may keep the client).
        this.serverFatal = Buffer.from(chunk.subarray(start, start + 1 + length));
        return EMPTY;
      }
    } catch {
      // Malformed: forwarded as the server sent it, not inspected.
    }
    return null;
  }

  /**
   * inspect() for a message whole in `chunk`; for one a read split, starts a SplitCapture that
   * onServerData completes from the next read(s) and inspects late. Both the fast path and tracked
   * mode report server messages through here.
   */
  inspectOrCapture(type: number, first: number, start: number, length: number, chunk: Buffer): Buffer | null {
    if (start >= 0 && start + 1 + length <= chunk.length) return this.inspect(type, first, start, length, chunk);
    if (inspectable(type, first)) {
      const c = SplitCapture.begin(type, first, start, length, chunk);
      // Whole in this chunk after all when its header was in the last one.
      if (c?.complete) this.inspectLate(c, start + 1 + length);
      else this.split = c;
    }
    return null;
  }

  /**
   * Inspects a message whose bytes have already gone to the client (it was split across reads):
   * the state it changes is recorded (a SET marks the connection for RESET ALL, DISCARD ends the
   * statements, a ParameterStatus updates the maps, a SQLSTATE reaches the pool), but a rewrite it
   * would have had (split-capture.ts) is not possible any more, and a FATAL that already reached
   * the client is not answered a second time. A LISTEN that got through gets a WARNING instead of
   * the refusal.
   */
  private inspectLate(c: SplitCapture, end: number): void {
    this.split = null;
    const fatal = this.serverFatal;
    const replacement = this.inspect(c.type, c.first, 0, c.bytes.length - 1, c.bytes);
    if (replacement === null) return;
    this.serverFatal = fatal;
    // The client was told LISTEN succeeded: at least warn it (the server side is still undone),
    // right where the message ends in the current chunk (`end`). Fast path only: tracked mode
    // re-frames its output and gets no notice.
    if (replacement === LISTEN_REFUSED && this.tracked === null) (this.replacements ??= []).push(end, end, LISTEN_UNDONE_NOTICE);
  }


  private setParam(name: string, value: string): void {
    if (this.params.get(name) === value) return;
    // A new map on every change (SETs are rare): a server's `paramsFor` names an unchanging map.
    const next = new Map(this.params);
    next.set(name, value);
    this.params = next;
  }

  private onParameterStatus(body: Buffer): Buffer | null {
    const p = parseParameterStatus(body);
    const server = this.server;
    if (server !== null) {
      server.params.set(p.name, p.value);
      server.paramsFor = null;
    }
    let value = p.value;
    if (server !== null && TRACKED.has(p.name) && value === server.defaults.get(p.name)) {
      // Back to the server connection's default: for this client that is its own default.
      value = this.defaults.get(p.name) ?? value;
    }
    const before = this.params.get(p.name);
    this.setParam(p.name, value);
    if (value === p.value) return null;
    return value === before ? EMPTY : msg.parameterStatus(p.name, value);
  }

  /** The client's stream is between messages and nothing of it waits to be forwarded. */
  private clientAtBoundary(): boolean {
    if (this.tracked !== null) return this.tracked.framer.buffered === 0 && this.tracked.outstanding === 0;
    return this.queued === null && this.carry === null && this.scanner.atBoundary();
  }

  /** Detaches `server` from this client, undoing any backpressure pause between the two sockets. */
  private unlinkServer(server: ServerConnection): void {
    this.server = null;
    this.split = null;
    if (this.resumeClientFn !== null) server.socket.removeListener('drain', this.resumeClientFn);
    if (this.resumeServerFn !== null) this.socket.removeListener('drain', this.resumeServerFn);
    server.socket.resume();
    if (this.throttled) this.unthrottle();
    else this.socket.resume();
  }

  private releaseServer(): void {
    const server = this.server;
    if (server === null) return;
    this.unlinkServer(server);
    // Every request has had its reply: the transaction ended, and with it any portal.
    this.unnamedPortal = PORTAL_NONE;
    this.portalGone = 0;
    // DISCARD ALL first when this client ran anything (backend/reset.ts); else straight back.
    resetServer(server, this.pool!, NOTHING_TO_UNDO);
    if (this.closeAfter !== null) this.fail(this.closeAfter.err, this.closeAfter.reason);
  }

  onServerClosed(server: ServerConnection, reason: DisconnectReason): void {
    if (this.server !== server) return;
    this.unlinkServer(server);
    this.unnamedPortal = PORTAL_NONE;
    this.portalGone = 0;
    const fatal = this.serverFatal;
    this.serverFatal = null;
    // In transaction mode the client outlives its server connection when both streams stand at a
    // message boundary: its outstanding requests fail, an open transaction is lost (see
    // lost-transaction.ts), and the next transaction gets another server connection.
    const clean = server.scanner.atBoundary() && (this.tracked === null ? this.scanner.atBoundary() && this.carry === null : this.tracked.abandon());
    if (!this.transactionMode || this.closed || !clean) {
      if (fatal !== null && this.socket.writable) this.socket.write(fatal);
      this.fail(new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: `reason: ${reason}` }), 'server_lost');
      return;
    }
    const error =
      fatal !== null
        ? downgradeFatal(fatal)
        : msg.errorResponse({ severity: 'ERROR', code: '08006', message: 'the server connection was lost', detail: `reason: ${reason}` });
    const inTransaction = this.txStatus !== IDLE;
    this.log.warn({ reason, inTransaction, pending: this.pending }, 'server connection lost; the client stays connected');
    this.dropQueued();
    if (this.pending > 0) {
      const out: Buffer[] = [error];
      for (let i = 0; i < this.pending; i++) out.push(msg.readyForQuery(inTransaction ? 'E' : 'I'));
      this.pending = 0;
      this.socket.write(Buffer.concat(out));
      if (inTransaction) this.lost = new LostTransaction(this.host.maxMessageSize, null, this.preparedText());
    } else if (inTransaction) {
      // Idle inside the transaction: the reason comes with the answer to its next request.
      this.lost = new LostTransaction(this.host.maxMessageSize, error, this.preparedText());
    }
    this.txStatus = inTransaction ? 0x45 /* E */ : IDLE;
    if (this.closeAfter !== null && this.lost === null) this.fail(this.closeAfter.err, this.closeAfter.reason, true);
  }

  /** Named statements' texts, for a lost transaction block ended by executing one (made only on a loss). */
  private preparedText(): (name: string) => Buffer | undefined {
    return (name) => {
      const s = this.tracked?.statements.get(name);
      return s === undefined ? undefined : Buffer.from(s.key, 'latin1');
    };
  }

  private onLostTransactionData(chunk: Buffer): void {
    let r: ReturnType<LostTransaction['onClientData']>;
    try {
      r = this.lost!.onClientData(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation', true);
      throw err;
    }
    if (r.replies.length > 0) this.socket.write(r.replies.length === 1 ? r.replies[0]! : Buffer.concat(r.replies));
    if (r.terminated) return this.close('client_terminate', true);
    if (!r.ended) {
      // Every reply here is the pooler's own: stop reading a client that does not take them.
      if (this.socket.writableLength > OUTPUT_HIGH_WATER) this.throttle();
      return;
    }
    this.lost = null;
    this.txStatus = IDLE;
    if (this.closeAfter !== null) return this.fail(this.closeAfter.err, this.closeAfter.reason, true);
    if (r.rest.length > 0) this.onClientData(r.rest);
  }

  // ---- ending ---------------------------------------------------------------------------

  /** Closes the client now if it is between transactions, else right after its transaction ends. */
  closeAtBoundary(err: PoolerError, reason: DisconnectReason): void {
    if (this.closed) return;
    if (this.pending === 0 && this.txStatus === IDLE && !this.waiting && this.clientAtBoundary()) return this.fail(err, reason, true);
    this.closeAfter = { err, reason };
  }

  /** Sends `errorResponse` (a FATAL) and closes the client. */
  failWith(errorResponse: Buffer, reason: DisconnectReason): void {
    if (this.closed) return;
    this.log.info({ reason }, 'client ended with the server’s error');
    if (this.socket.writable) this.socket.write(errorResponse);
    this.close(reason, true);
  }

  /** Sends a FATAL (or ERROR for non-fatal codes, then closes anyway) and closes the client. */
  fail(err: PoolerError, reason: DisconnectReason, streamClean = false): void {
    if (this.closed) return;
    this.log.info({ code: err.code, sqlstate: err.sqlstate, reason }, err.message);
    if (this.socket.writable) {
      this.socket.write(msg.errorResponse({ severity: 'FATAL', code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
    }
    this.close(reason, streamClean);
  }

  /**
   * Closes the client and returns (or resets, or discards) its server connection.
   * `streamClean`: the bytes forwarded to the server end at a message boundary.
   */
  close(reason: DisconnectReason, streamClean = this.clientAtBoundary()): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiting) {
      this.waiting = false;
      this.pool?.cancelWait(this);
    }
    // Its statement names no longer hold their statements (nor the tenant's budget).
    this.tracked?.statements.clear();
    const server = this.server;
    if (server !== null) {
      this.unlinkServer(server);
      const busy = this.pending > 0 || (this.tracked === null ? this.unsynced : this.tracked.outstanding > 0);
      if (streamClean && !busy) {
        // Roll back an open transaction (and in session mode discard session state) before reuse.
        resetServer(server, this.pool!, { rollback: this.txStatus !== IDLE, discardAll: !this.transactionMode });
      } else if (!busy) {
        // Waiting for input: the backend ends as soon as its socket closes.
        server.close('unclean_release');
      } else {
        // Still running something for this client: cancel it, and keep the slot until the server
        // is idle again (or closed). Tracked mode sends whole messages only.
        abandonServer(server, this.pool!, { requests: this.pending, atBoundary: streamClean || this.tracked !== null, session: !this.transactionMode });
      }
    }
    if (!this.socket.destroyed) this.socket.end();
    this.socket.destroySoon();
    this.host.clientGone(this, reason);
  }
}

/**
 * The server side's scan sink: a one-field object rather than a closure (plus its context) per
 * client; the call stays monomorphic.
 */
class ServerSink implements ScanSink {
  private readonly client: ClientConnection;

  constructor(client: ClientConnection) {
    this.client = client;
  }

  onMessage(type: number, first: number, start: number, length: number): void {
    this.client.onServerMessage(type, first, start, length);
  }
}
