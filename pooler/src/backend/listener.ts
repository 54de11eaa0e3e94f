// LISTEN/NOTIFY in transaction mode: one listening server connection per tenant per pooler
// process, holding the union of the channels its clients listen on (frontend/notify-client.ts
// keeps each client's own set). PostgreSQL delivers a notification to every session listening on
// its channel (SQL reference, NOTIFY); here that session is this connection, and the pooler fans
// each NotificationResponse out, byte for byte as the server sent it, to the tenant's clients that
// listen on the channel. docs/transaction-mode.md, "LISTEN and NOTIFY", has the behaviour and bounds.
//
// - Opened on the tenant's current destination when a client first LISTENs; closed when no client
//   listens any more. Lost (server restart, failover) or retargeted (a move, a failover pushed by
//   a reload): re-opened with backoff on the current destination and every channel LISTENed again;
//   the listening clients are warned that notifications may have been missed meanwhile.
// - Not counted in the pool's `size`: a client listening would otherwise take a slot from the
//   tenant's transactions for as long as it listens (with `size: 1`, every slot). It is one more
//   server session per tenant per process, never more: a LISTEN storm reuses it.
// - A channel is LISTENed once per tenant whatever the number of its clients; the channels per
//   tenant are bounded (MAX_TENANT_CHANNELS), so is what one command costs.
import type { Logger } from '../log.ts';
import { errorCatalog, type PoolerErrorCode } from '../errors.ts';
import { BE_ERROR_RESPONSE, BE_NOTIFICATION_RESPONSE, BE_READY_FOR_QUERY } from '../net/codes.ts';
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parseErrorFields } from '../net/parse.ts';
import { connectServer, type ServerTarget } from './connect.ts';

/** Channels one tenant's listener holds at most (each costs one LISTEN and a few hundred bytes). */
export const MAX_TENANT_CHANNELS = 10_000;
/** A notification is at most 8000 bytes of payload plus the channel (PostgreSQL's limit): 64 KiB is ample. */
const MAX_MESSAGE = 64 * 1024;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;
/**
 * A connection lost after being up this long starts the backoff again; one lost sooner does not:
 * a tenant can terminate its own backends, and a connection that dies as soon as it is up must not
 * be re-opened (a connection and a SCRAM exchange each time) every RETRY_MIN_MS.
 */
const STABLE_MS = 10_000;
/**
 * The connection stays this long after its last channel is given back: a client looping
 * `LISTEN a; UNLISTEN a` would otherwise make every LISTEN open a new server connection.
 */
const LINGER_MS = 5000;

/** A client of the tenant, as the listener sees it (frontend/notify-client.ts). */
export interface ListenerSubscriber {
  /** A NotificationResponse on one of its channels, as the server sent it. */
  notify(channel: string, message: Buffer): void;
  /** The connection was lost and is listening again: notifications sent meanwhile were missed. */
  missed(): void;
}

/** Why a LISTEN could not be established: an error for the client's LISTEN. */
export interface ListenFailure {
  readonly sqlstate: string;
  readonly message: string;
  readonly detail?: string | undefined;
}

/** A pooler error (docs/errors.md) as a ListenFailure. */
export function listenFailure(code: PoolerErrorCode, message: string, detail?: string): ListenFailure {
  return { sqlstate: errorCatalog[code].sqlstate, message, detail };
}

type Done = (failure: ListenFailure | null) => void;

interface Channel {
  readonly subs: Set<ListenerSubscriber>;
  /** LISTEN confirmed on the current connection. */
  listening: boolean;
  /** LISTEN sent on the current connection, answer awaited. */
  sent: boolean;
  /** Subscribers waiting for the LISTEN to be in effect. */
  waiters: Done[];
  /** When the oldest waiter gives up (ms since epoch). */
  deadline: number;
}

export interface ListenerHost {
  /** The tenant's current destination (the pool's target, backend/pool.ts). */
  target(): ServerTarget;
  /** The tenant's pool holds (admin PAUSE, planned switchover): no connection is open or opened. */
  holding(): boolean;
  /** connect_timeout and checkout_timeout of the tenant's pool, seconds. */
  timeouts(): { connect: number; wait: number };
}

export class TenantListener {
  readonly tenantId: string;
  private readonly host: ListenerHost;
  private readonly log: Logger;
  private readonly channels = new Map<string, Channel>();
  private socket: import('node:net').Socket | null = null;
  private framer: MessageFramer | null = null;
  private connecting = false;
  /** One callback per Query sent on the current connection, in order; each ends at its ReadyForQuery. */
  private inflight: Array<(error: Record<string, string> | null) => void> = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  /** Subscribers had channels in effect when the connection went: warn them once it is back. */
  private gap = false;
  private closed = false;
  /** The destination changed while connecting. */
  private stale = false;
  /** Runs while a LISTEN waits (expireWaiters), not for every tenant that ever listened. */
  private timer: NodeJS.Timeout | undefined;
  /** Closes the connection LINGER_MS after the last channel went (unless one comes back). */
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Notifications handed to clients, and dropped from full client queues (metrics). */
  delivered = 0;
  dropped = 0;
  /** Connections opened (metrics, tests). */
  connects = 0;

  constructor(tenantId: string, host: ListenerHost, log: Logger) {
    this.tenantId = tenantId;
    this.host = host;
    this.log = log.child({ tenant: tenantId, listener: true });
  }

  /** Channels held, and distinct subscribers (metrics). */
  counts(): { channels: number; clients: number } {
    const subs = new Set<ListenerSubscriber>();
    for (const c of this.channels.values()) for (const s of c.subs) subs.add(s);
    return { channels: this.channels.size, clients: subs.size };
  }

  /** The backend's process id of the connection, or 0 (tests find it in pg_stat_activity). */
  processId = 0;

  /**
   * Adds `sub` to `channel`; `done` is called (maybe synchronously) once the connection LISTENs
   * on it, or with the failure. Returns false when the tenant's channel limit refuses a new channel.
   */
  subscribe(channel: string, sub: ListenerSubscriber, done: Done): boolean {
    let c = this.channels.get(channel);
    if (c === undefined) {
      if (this.channels.size >= MAX_TENANT_CHANNELS || this.closed) return false;
      c = { subs: new Set(), listening: false, sent: false, waiters: [], deadline: 0 };
      this.channels.set(channel, c);
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    c.subs.add(sub);
    if (c.listening) {
      done(null);
      return true;
    }
    if (c.waiters.length === 0) c.deadline = Date.now() + this.host.timeouts().wait * 1000;
    c.waiters.push(done);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.expireWaiters(), 1000);
      this.timer.unref();
    }
    if (this.socket !== null) {
      if (!c.sent) this.sendListen(channel, c);
    } else this.connect();
    return true;
  }

  /** Removes `sub` from `channel`; the last one out UNLISTENs it, and closes the connection with the last channel. */
  unsubscribe(channel: string, sub: ListenerSubscriber): void {
    const c = this.channels.get(channel);
    if (c === undefined || !c.subs.delete(sub) || c.subs.size > 0) return;
    this.channels.delete(channel);
    for (const w of c.waiters.splice(0)) w({ sqlstate: '57014', message: 'LISTEN withdrawn' });
    if (this.socket !== null && c.sent) this.command(`UNLISTEN ${quoteChannel(channel)}`, () => {});
    if (this.channels.size === 0) this.disconnectSoon();
  }

  /** The destination changed (failover, move): listen there from now on. */
  retarget(): void {
    if (this.connecting) {
      // The connection being opened goes to the old destination: dropped and opened again once up.
      this.stale = true;
      return;
    }
    if (this.socket === null) return;
    this.log.info('destination changed: the listening connection moves');
    this.stale = false;
    this.dropConnection(true);
    this.connect();
  }

  /**
   * The tenant's pool began or ended a hold (admin PAUSE: "every server connection is closed, so
   * the database behind can be restarted"; a planned switchover: nothing stays on or opens to the
   * old writer). Held: the connection closes and none opens (a LISTEN of a new channel waits, at
   * most checkout_timeout); released: opened again, every channel LISTENed, clients warned.
   */
  holdChanged(holding: boolean): void {
    if (holding) {
      if (this.socket !== null) this.log.info('the tenant holds: listening connection closed until it ends');
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.dropConnection(true);
    } else if (this.channels.size > 0) this.connect();
  }

  /** The tenant is no longer served (close()): every channel is refused. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The tenant is no longer served: fails waiters, closes the connection. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.retryTimer);
    for (const c of this.channels.values()) for (const w of c.waiters.splice(0)) w({ sqlstate: '57P01', message: 'the tenant is no longer served by this pooler' });
    this.channels.clear();
    this.disconnect();
  }

  // ---- the connection -------------------------------------------------------------------

  private connect(): void {
    if (this.connecting || this.socket !== null || this.closed || this.retryTimer !== undefined || this.host.holding()) return;
    this.connecting = true;
    this.stale = false;
    this.connects++;
    const t = this.host.timeouts();
    connectServer(this.host.target(), t.connect * 1000).then(
      (hs) => {
        this.connecting = false;
        if (this.channels.size === 0 || this.closed || this.host.holding()) {
          // Not wanted any more, or the tenant holds (holdChanged opens it again when that ends).
          hs.socket.end(msg.terminate());
          return;
        }
        const openedAt = Date.now();
        this.socket = hs.socket;
        this.processId = hs.processId;
        this.framer = new MessageFramer(MAX_MESSAGE);
        hs.socket.setKeepAlive(true, 60_000);
        hs.socket.on('data', (chunk: Buffer) => this.onData(chunk));
        const lost = (): void => {
          if (this.socket !== hs.socket) return;
          this.log.warn('listening connection lost');
          if (Date.now() - openedAt >= STABLE_MS) this.retryDelayMs = RETRY_MIN_MS;
          this.dropConnection(true);
          this.scheduleRetry();
        };
        hs.socket.on('error', lost);
        hs.socket.on('close', lost);
        this.log.debug({ pid: hs.processId, channels: this.channels.size }, 'listening connection opened');
        if (this.stale) return this.retarget();
        // It is idle by design: an idle_session_timeout of the database or role (PostgreSQL 14+)
        // would end it each time it expires, losing the notifications of the gap. An older server
        // refuses the name: the error is ignored.
        this.command('SET idle_session_timeout = 0', () => {});
        // Every channel again (the first time: the channels asked for meanwhile), one Query each.
        for (const [name, c] of this.channels) this.sendListen(name, c);
        if (this.gap) {
          this.gap = false;
          // Sent once the LISTENs are in (queued behind them), so the warning is not premature.
          this.command('SELECT 1', (err) => {
            if (err === null) for (const s of this.subscribers()) s.missed();
          });
        }
      },
      (err: Error) => {
        this.connecting = false;
        this.log.warn({ err: err.message }, 'listening connection failed');
        this.failWaiters(listenFailure('LISTEN_UNAVAILABLE', `cannot connect to the database of tenant "${this.tenantId}" to LISTEN`, err.message), true);
        this.scheduleRetry();
      },
    );
  }

  private scheduleRetry(): void {
    if (this.channels.size === 0 || this.closed || this.retryTimer !== undefined) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  /** Forgets the connection; `gap`: channels in effect stop receiving until it is back. */
  private dropConnection(gap: boolean): void {
    const s = this.socket;
    this.socket = null;
    this.framer = null;
    this.processId = 0;
    // Their channels are LISTENed again on the next connection: nothing to answer now.
    this.inflight = [];
    for (const c of this.channels.values()) {
      if (c.listening && gap) this.gap = true;
      c.listening = false;
      c.sent = false;
    }
    if (s !== null) {
      s.removeAllListeners('data');
      s.on('error', () => {});
      if (s.writable) s.end(msg.terminate());
      s.destroySoon();
    }
  }

  /** No channel left: closed after LINGER_MS (no retry meanwhile), unless a channel comes back. */
  private disconnectSoon(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.gap = false;
    if (this.socket === null) return this.disconnect();
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.channels.size === 0) this.disconnect();
    }, LINGER_MS);
    this.lingerTimer.unref();
  }

  private disconnect(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.gap = false;
    if (this.socket !== null) this.log.debug('no channel left: listening connection closed');
    this.dropConnection(false);
  }

  private sendListen(name: string, c: Channel): void {
    c.sent = true;
    this.command(`LISTEN ${quoteChannel(name)}`, (err) => {
      // Still wanted on this very connection? (an UNLISTEN or a reconnect may have come since)
      if (this.channels.get(name) !== c || !c.sent) return;
      if (err !== null) {
        c.sent = false;
        const failure: ListenFailure = { sqlstate: err.C ?? '08006', message: err.M ?? 'LISTEN failed on the listening connection' };
        for (const w of c.waiters.splice(0)) w(failure);
        return;
      }
      c.listening = true;
      for (const w of c.waiters.splice(0)) w(null);
    });
  }

  private command(sql: string, done: (error: Record<string, string> | null) => void): void {
    const s = this.socket;
    if (s === null) return;
    this.inflight.push(done);
    s.write(msg.query(sql));
  }

  private onData(chunk: Buffer): void {
    const framer = this.framer;
    if (framer === null) return;
    let error: Record<string, string> | null = null;
    try {
      framer.push(chunk);
      for (let m = framer.next(); m !== undefined; m = framer.next()) {
        if (m.type === BE_NOTIFICATION_RESPONSE) this.fanOut(m.body, m.raw);
        else if (m.type === BE_ERROR_RESPONSE) error ??= parseErrorFields(m.body);
        else if (m.type === BE_READY_FOR_QUERY) {
          const cb = this.inflight.shift();
          cb?.(error);
          error = null;
        }
        // CommandComplete, NoticeResponse, ParameterStatus: nothing to do.
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'listening connection sent bytes that do not parse');
      this.dropConnection(true);
      this.scheduleRetry();
    }
  }

  /** NotificationResponse: Int32 pid, String channel, String payload (protocol docs, "Message Formats"). */
  private fanOut(body: Buffer, raw: Buffer): void {
    const end = body.indexOf(0, 4);
    if (end < 0) return;
    const channel = body.toString('utf8', 4, end);
    const c = this.channels.get(channel);
    if (c === undefined) return;
    // A copy: `raw` may be a view of a larger read buffer that a slow client's queue would keep.
    const message = Buffer.from(raw);
    for (const s of c.subs) s.notify(channel, message);
  }

  private subscribers(): Set<ListenerSubscriber> {
    const subs = new Set<ListenerSubscriber>();
    for (const c of this.channels.values()) if (c.listening) for (const s of c.subs) subs.add(s);
    return subs;
  }

  private failWaiters(failure: ListenFailure, all: boolean): void {
    const now = Date.now();
    for (const c of this.channels.values()) {
      if (c.waiters.length === 0 || (!all && c.deadline > now)) continue;
      for (const w of c.waiters.splice(0)) w(failure);
    }
  }

  /** Once a second: a LISTEN waiting longer than checkout_timeout fails. */
  private expireWaiters(): void {
    let waiting = false;
    for (const c of this.channels.values()) if (c.waiters.length > 0) waiting = true;
    if (!waiting) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    this.failWaiters(listenFailure('LISTEN_UNAVAILABLE', `the listening connection of tenant "${this.tenantId}" is not available`, `waited checkout_timeout (${this.host.timeouts().wait} s)`), false);
  }
}

/** The tenants' listeners of this process (Pooler). */
export class Listeners {
  private readonly byTenant = new Map<string, TenantListener>();
  private readonly log: () => Logger;

  /** `log`: read when a listener is made (the pooler's logger is set after its fields). */
  constructor(log: () => Logger) {
    this.log = log;
  }

  forTenant(tenantId: string, host: ListenerHost): TenantListener {
    let l = this.byTenant.get(tenantId);
    if (l === undefined) {
      l = new TenantListener(tenantId, host, this.log());
      this.byTenant.set(tenantId, l);
    }
    return l;
  }

  /** A listener that refuses every channel, for a tenant no longer served: nothing is opened or kept. */
  closed(tenantId: string): TenantListener {
    const host: ListenerHost = {
      target: () => {
        throw new Error('no destination: the tenant is not served');
      },
      holding: () => false,
      timeouts: () => ({ connect: 0, wait: 0 }),
    };
    const l = new TenantListener(tenantId, host, this.log());
    l.close();
    return l;
  }

  get(tenantId: string): TenantListener | undefined {
    return this.byTenant.get(tenantId);
  }

  retarget(tenantId: string): void {
    this.byTenant.get(tenantId)?.retarget();
  }

  remove(tenantId: string): void {
    this.byTenant.get(tenantId)?.close();
    this.byTenant.delete(tenantId);
  }

  closeAll(): void {
    for (const l of this.byTenant.values()) l.close();
    this.byTenant.clear();
  }

  entries(): Iterable<TenantListener> {
    return this.byTenant.values();
  }
}

/** The channel as an SQL identifier. */
function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
