// One transaction-mode client's LISTEN/UNLISTEN state, and the notifications on their way to it
// (the tenant's listening connection is backend/listener.ts). docs/transaction-mode.md, "LISTEN
// and NOTIFY".
//
// Transaction semantics as PostgreSQL's (SQL reference, LISTEN: "LISTEN takes effect at
// transaction commit"): a LISTEN/UNLISTEN the client runs between transactions is answered by the
// pooler and in effect at once; one inside a transaction (or pipelined behind other requests) goes
// to the client's server connection like any statement — the server answers it, exactly as it
// would — and is staged: applied at the ReadyForQuery 'I' that ends the transaction if it
// committed, dropped if it rolled back (a ROLLBACK, a failed block, an error in an implicit
// transaction). A ROLLBACK TO SAVEPOINT after it drops it too (stricter than PostgreSQL, which
// keeps what came before the savepoint). Before any client is told its LISTEN succeeded, the
// listening connection listens on the channel: a NOTIFY committed after the client's LISTEN
// returned is never missed.
//
// Delivery: a notification on a channel in effect for the client is written at once when the
// client is between transactions (IDLE: no server connection, nothing else is written to it then,
// so the stream stays framed), else queued and written when it next becomes IDLE — as PostgreSQL
// delivers notifications between transactions. The queue is bounded (count and bytes); past it
// the oldest are dropped and the client is told once, by a WARNING, when the rest is written.
// A client that does not read gets nothing written past OUTPUT_HIGH_WATER: the queue holds it.
import type { Socket } from 'node:net';
import { listenFailure, MAX_TENANT_CHANNELS, type ListenerSubscriber, type ListenFailure, type TenantListener } from '../backend/listener.ts';
import { OUTPUT_HIGH_WATER, onceDrain } from '../net/backpressure.ts';
import { TX_FAILED, TX_IDLE, TX_IN_BLOCK } from '../net/codes.ts';
import * as msg from '../net/messages.ts';
import { MAX_CHANNEL_BYTES, type NotifyStatement } from './notify-statement.ts';

/** Channels one client may listen on (in effect and staged). */
export const MAX_CLIENT_CHANNELS = 1024;
/** Notifications queued for one client, and their bytes, beyond which the oldest are dropped. */
export const MAX_QUEUED_NOTIFICATIONS = 10_000;
export const MAX_QUEUED_NOTIFICATION_BYTES = 1024 * 1024;

/** The client connection, as its LISTEN state sees it (frontend/client.ts). */
export interface NotifyHost {
  readonly socket: Socket;
  /** Between transactions with no server connection (state IDLE). */
  readonly betweenTransactions: boolean;
}

interface Awaited {
  readonly stmt: NotifyStatement;
  /** The count of ReadyForQuerys (`readies`) its own brings: every RFQ does not touch every entry. */
  readonly due: number;
  /** Its CommandComplete came: it ran (within the transaction). */
  ran: boolean;
}

export class ClientListens implements ListenerSubscriber {
  private readonly host: NotifyHost;
  readonly listener: TenantListener;
  /** Channels in effect: notifications on them are delivered. */
  readonly active = new Set<string>();
  /** Channels subscribed on the listener for this client: in effect, or a LISTEN not yet resolved. */
  private readonly held = new Set<string>();
  /**
   * Statements sent to the server whose reply is awaited, in order of `due`, from `head` on (a
   * queue: a client may pipeline tens of thousands; each ReadyForQuery costs O(1), not O(all)).
   */
  private awaiting: Awaited[] = [];
  private head = 0;
  /** ReadyForQuerys seen while busy. */
  private readies = 0;
  /** LISTENs awaiting their reply, per channel (release() must not scan them for every channel held). */
  private readonly awaitedListens = new Map<string, number>();
  /**
   * What the statements that ran in the current transaction do at commit, folded (bounded by the
   * channels held, not by the number of statements): an UNLISTEN * (everything before it undone),
   * then per channel whether it ends up listened to.
   */
  private stagedClear = false;
  private readonly stagedNet = new Map<string, boolean>();
  /** The transaction the staged statements belong to will not commit. */
  private doomed = false;
  /** A ROLLBACK (to a savepoint, or of the block) or an error since the last ReadyForQuery. */
  private rolledBack = false;
  private queue: Buffer[] = [];
  private queueBytes = 0;
  /**
   * Notifications on a channel whose LISTEN ran in the open transaction, heard by the listening
   * connection before the pooler read that transaction's ReadyForQuery 'I': the committing backend
   * signals the listeners at commit, before its own ReadyForQuery (PostgreSQL, async.c
   * AtCommit_Notify), and the two replies come on different connections in either order. Without
   * this, the transaction's own NOTIFY (and any committed right after it) was dropped whenever the
   * listening connection's copy won that race. Queued at commit for the channels then in effect,
   * dropped otherwise; bounded like the queue.
   */
  private atCommit: Array<{ channel: string; message: Buffer }> = [];
  private atCommitBytes = 0;

  /** Bytes queued for the client (tests, bounds). */
  get queuedBytes(): number {
    return this.queueBytes;
  }
  private droppedSinceTold = 0;
  /** The channel of the LISTEN being prepared (the client's input waits meanwhile): kept held. */
  private preparing: string | null = null;
  private readonly flushFn = (): void => this.flush();

  constructor(host: NotifyHost, listener: TenantListener) {
    this.host = host;
    this.listener = listener;
  }

  /** Statements awaiting a reply or a commit: ReadyForQuery must be reported (onReady). */
  get busy(): boolean {
    return this.head < this.awaiting.length || this.stagedClear || this.stagedNet.size > 0;
  }

  /** Channels the client holds (in effect or pending). */
  get channelCount(): number {
    return this.held.size;
  }

  // ---- the client's statements -----------------------------------------------------------

  /**
   * Checks the bounds of `stmt` and, for a LISTEN of a channel the listener does not listen on
   * yet, subscribes: `ready` is called (maybe synchronously) with null once the statement may
   * proceed, or with the error to answer it with.
   */
  prepare(stmt: NotifyStatement, ready: (failure: ListenFailure | null) => void): void {
    if (stmt.tooLong) {
      return ready(
        listenFailure(
          'LISTEN_CHANNEL_NAME_TOO_LONG',
          'channel name too long',
          `a channel name is at most ${MAX_CHANNEL_BYTES} bytes (NAMEDATALEN - 1); PostgreSQL would truncate it, and pg_notify refuses it`,
        ),
      );
    }
    if (!stmt.listen || stmt.channel === null || this.held.has(stmt.channel)) return ready(null);
    if (this.held.size >= MAX_CLIENT_CHANNELS) {
      return ready(listenFailure('LISTEN_CHANNEL_LIMIT', `too many LISTEN channels for one client (at most ${MAX_CLIENT_CHANNELS})`));
    }
    const channel = stmt.channel;
    this.held.add(channel);
    this.preparing = channel;
    const ok = this.listener.subscribe(channel, this, (failure) => {
      if (failure !== null) {
        this.preparing = null;
        this.release();
      }
      ready(failure);
    });
    if (!ok) {
      this.preparing = null;
      this.held.delete(channel);
      if (this.listener.isClosed) return ready(listenFailure('TENANT_REMOVED', `tenant "${this.listener.tenantId}" is no longer served by this pooler`));
      ready(listenFailure('LISTEN_CHANNEL_LIMIT', 'too many LISTEN channels for this tenant', `the tenant’s clients listen on ${MAX_TENANT_CHANNELS} distinct channels, the most the pooler allows per tenant`));
    }
  }

  /** The statement prepared will not run after all. */
  cancelPrepare(): void {
    this.preparing = null;
    this.release();
  }

  /** A statement answered by the pooler between transactions: in effect now. */
  applyNow(stmt: NotifyStatement): void {
    this.preparing = null;
    this.apply(stmt);
    this.release();
  }

  /** A statement forwarded to the server; `ahead`: ReadyForQuerys owed before its own. */
  forwarded(stmt: NotifyStatement, ahead: number): void {
    this.preparing = null;
    this.awaiting.push({ stmt, due: this.readies + ahead + 1, ran: false });
    const ch = stmt.channel;
    if (stmt.listen && ch !== null) this.awaitedListens.set(ch, (this.awaitedListens.get(ch) ?? 0) + 1);
  }

  // ---- what the server answers (reply-inspector.ts, the fast path's ReadyForQuery) ----------

  /** CommandComplete LISTEN/UNLISTEN: true when it answers a statement the pooler forwarded. */
  ranTag(listen: boolean): boolean {
    // The first statement of the next ReadyForQuery's request that has not run yet (several
    // Executes of one extended batch share a ReadyForQuery).
    const next = this.readies + 1;
    for (let i = this.head; i < this.awaiting.length; i++) {
      const a = this.awaiting[i]!;
      if (a.due !== next) return false;
      if (a.ran) continue;
      if (a.stmt.listen !== listen) return false;
      a.ran = true;
      return true;
    }
    return false;
  }

  /** CommandComplete ROLLBACK (of the block or to a savepoint), or an ErrorResponse. */
  rollback(): void {
    if (this.busy) this.rolledBack = true;
  }

  onReady(status: number): void {
    let changed = false;
    const ready = ++this.readies;
    const q = this.awaiting;
    while (this.head < q.length && q[this.head]!.due === ready) {
      const a = q[this.head++]!;
      const ch = a.stmt.channel;
      if (a.stmt.listen && ch !== null) {
        const n = this.awaitedListens.get(ch)! - 1;
        if (n === 0) this.awaitedListens.delete(ch);
        else this.awaitedListens.set(ch, n);
      }
      if (a.ran) this.stage(a.stmt);
      else changed = true; // failed: nothing to apply
    }
    if (this.head === q.length) {
      this.awaiting = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= q.length) {
      // A pipeline that never empties: the answered entries are not kept.
      this.awaiting = q.slice(this.head);
      this.head = 0;
    }
    if (this.stagedClear || this.stagedNet.size > 0) {
      if (status === TX_IDLE) {
        if (!this.doomed && !this.rolledBack) {
          if (this.stagedClear) this.active.clear();
          for (const [ch, on] of this.stagedNet) {
            if (on) this.active.add(ch);
            else this.active.delete(ch);
          }
        }
        this.dropStaged();
        this.doomed = false;
        changed = true;
      } else if (status === TX_FAILED || (status === TX_IN_BLOCK && this.rolledBack)) {
        this.doomed = true;
      }
    } else this.doomed = false;
    this.rolledBack = false;
    if (!this.busy) this.releaseAtCommit();
    if (changed) this.release();
  }

  /** Folds a statement that ran into what the transaction does at commit. */
  private stage(stmt: NotifyStatement): void {
    const ch = stmt.channel;
    if (ch === null) {
      this.stagedClear = true;
      this.stagedNet.clear();
    } else if (stmt.listen || this.held.has(ch)) {
      // An UNLISTEN of a channel not held changes nothing at commit (active ⊆ held): not kept, so
      // UNLISTENs of ever new names cost nothing.
      this.stagedNet.set(ch, stmt.listen);
    }
  }

  private dropStaged(): void {
    this.stagedClear = false;
    this.stagedNet.clear();
  }

  /** The transaction ended: what was held for it goes to the channels now in effect (nothing if it rolled back). */
  private releaseAtCommit(): void {
    if (this.atCommit.length === 0) return;
    const held = this.atCommit;
    this.atCommit = [];
    this.atCommitBytes = 0;
    for (const n of held) if (this.active.has(n.channel)) this.enqueue(n.message);
  }

  private dropAwaited(): void {
    this.awaiting = [];
    this.head = 0;
    this.awaitedListens.clear();
  }

  /** The server connection was lost, or the checkout failed: what was forwarded did not commit. */
  transactionLost(): void {
    this.atCommit = [];
    this.atCommitBytes = 0;
    if (!this.busy) return;
    this.dropAwaited();
    this.dropStaged();
    this.doomed = false;
    this.rolledBack = false;
    this.release();
  }

  private apply(stmt: NotifyStatement): void {
    if (stmt.channel === null) this.active.clear();
    else if (stmt.listen) this.active.add(stmt.channel);
    else this.active.delete(stmt.channel);
  }

  /** Unsubscribes the channels neither in effect nor awaited any more. */
  private release(): void {
    for (const ch of this.held) {
      if (this.active.has(ch) || ch === this.preparing || this.pendingListen(ch)) continue;
      this.held.delete(ch);
      this.listener.unsubscribe(ch, this);
    }
  }

  private pendingListen(ch: string): boolean {
    return this.awaitedListens.has(ch) || this.stagedNet.get(ch) === true;
  }

  /** The client is gone: its channels are given back. */
  close(): void {
    this.preparing = null;
    this.dropAwaited();
    this.dropStaged();
    this.active.clear();
    this.release();
    this.queue = [];
    this.queueBytes = 0;
    this.atCommit = [];
    this.atCommitBytes = 0;
  }

  // ---- delivery (ListenerSubscriber) --------------------------------------------------------

  notify(channel: string, message: Buffer): void {
    if (!this.active.has(channel)) {
      // Its LISTEN ran in the open transaction, whose commit the pooler has not read yet: held.
      if (!this.doomed && this.pendingListen(channel)) this.holdForCommit(channel, message);
      return;
    }
    if (this.queue.length === 0 && this.writable()) {
      this.listener.delivered++;
      this.host.socket.write(message);
      return;
    }
    this.enqueue(message);
  }

  missed(): void {
    if (this.active.size === 0) return;
    const warning = msg.noticeResponse({
      severity: 'WARNING',
      code: '01000',
      message: 'notifications may have been missed',
      detail: 'the pooler’s listening connection to the database was lost (or the database changed) and has been re-established',
      hint: 're-read the state the notifications announce',
    });
    if (this.queue.length === 0 && this.writable()) this.host.socket.write(warning);
    else this.enqueue(warning, true);
  }

  private holdForCommit(channel: string, message: Buffer): void {
    this.atCommit.push({ channel, message });
    this.atCommitBytes += message.length;
    while (this.atCommit.length > MAX_QUEUED_NOTIFICATIONS || this.atCommitBytes > MAX_QUEUED_NOTIFICATION_BYTES) {
      this.atCommitBytes -= this.atCommit.shift()!.message.length;
      this.droppedSinceTold++;
      this.listener.dropped++;
    }
  }

  private writable(): boolean {
    const h = this.host;
    return h.betweenTransactions && h.socket.writable && h.socket.writableLength <= OUTPUT_HIGH_WATER;
  }

  private enqueue(message: Buffer, notice = false): void {
    this.queue.push(message);
    this.queueBytes += message.length;
    while (this.queue.length > MAX_QUEUED_NOTIFICATIONS || this.queueBytes > MAX_QUEUED_NOTIFICATION_BYTES) {
      const old = this.queue.shift()!;
      this.queueBytes -= old.length;
      this.droppedSinceTold++;
      this.listener.dropped++;
    }
    if (!notice && this.host.betweenTransactions) onceDrain(this.host.socket, this.flushFn);
  }

  /** Writes what is queued if the client is between transactions and reading (client.ts calls it on becoming IDLE). */
  flush(): void {
    if (this.queue.length === 0 || !this.writable()) {
      if (this.queue.length > 0 && this.host.betweenTransactions) onceDrain(this.host.socket, this.flushFn);
      return;
    }
    const out = this.queue;
    const dropped = this.droppedSinceTold;
    this.queue = [];
    this.queueBytes = 0;
    this.droppedSinceTold = 0;
    if (dropped > 0) {
      out.unshift(
        msg.noticeResponse({
          severity: 'WARNING',
          code: '01000',
          message: `${dropped} notification${dropped === 1 ? ' was' : 's were'} dropped`,
          detail: `the pooler queues at most ${MAX_QUEUED_NOTIFICATIONS} notifications (${MAX_QUEUED_NOTIFICATION_BYTES} bytes) for a client that is in a transaction or not reading; the oldest were dropped`,
          hint: 're-read the state the notifications announce; keep transactions short and read notifications promptly',
        }),
      );
    }
    let n = 0;
    for (const m of out) if (m[0] === 0x41 /* A */) n++;
    this.listener.delivered += n;
    this.host.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }
}
