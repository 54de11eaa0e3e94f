// The order of two server connections' replies: the tenant's listening connection may hear a
// transaction's NOTIFY (PostgreSQL signals listeners at commit, before the committing backend's
// ReadyForQuery) before the pooler reads that transaction's ReadyForQuery 'I' on the client's
// server connection. A LISTEN that ran in the transaction must still get it, once, at commit.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type { ListenerSubscriber, TenantListener } from '../backend/listener.ts';
import { TX_IDLE, TX_IN_BLOCK } from '../net/codes.ts';
import { ClientListens } from './notify-client.ts';
import { parseNotifyStatement } from './notify-statement.ts';

function rig() {
  const written: Buffer[] = [];
  const socket = Object.assign(new EventEmitter(), {
    writable: true,
    writableLength: 0,
    write: (b: Buffer) => {
      written.push(b);
      return true;
    },
  }) as unknown as Socket;
  const host = { socket, betweenTransactions: false };
  const listener = {
    tenantId: 't',
    isClosed: false,
    delivered: 0,
    dropped: 0,
    subscribe: (_ch: string, _sub: ListenerSubscriber, done: (f: null) => void) => (done(null), true),
    unsubscribe: () => {},
  } as unknown as TenantListener;
  const listens = new ClientListens(host, listener);
  return { written, host, listens };
}

/** BEGIN; LISTEN own (forwarded, ran); NOTIFY own …; COMMIT — up to the COMMIT's ReadyForQuery, not read yet. */
function listenInTransaction(r: ReturnType<typeof rig>): void {
  const stmt = parseNotifyStatement('LISTEN own')!;
  let ok: unknown;
  r.listens.prepare(stmt, (f) => (ok = f));
  expect(ok).toBeNull();
  r.listens.forwarded(stmt, 0);
  expect(r.listens.ranTag(true)).toBe(true);
  r.listens.onReady(TX_IN_BLOCK);
}

/** NotificationResponse: 'A', Int32 length, Int32 pid, String channel, String payload. */
function notificationResponse(pid: number, channel: string, payload: string): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(`${channel}\0${payload}\0`)]);
  body.writeInt32BE(pid, 0);
  const head = Buffer.alloc(5);
  head[0] = 0x41;
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
const notification = notificationResponse(1, 'own', 'mine');

describe('ClientListens: the listening connection hears the commit first', () => {
  it('delivers the notification once the commit is read', () => {
    const r = rig();
    listenInTransaction(r);
    r.listens.notify('own', notification); // the listening connection's copy wins the race
    r.listens.onReady(TX_IDLE); // then the COMMIT's ReadyForQuery
    r.host.betweenTransactions = true;
    r.listens.flush();
    expect(Buffer.concat(r.written)).toEqual(notification);
  });

  it('drops it when the transaction rolled back', () => {
    const r = rig();
    listenInTransaction(r);
    r.listens.notify('own', notification);
    r.listens.rollback();
    r.listens.onReady(TX_IDLE);
    r.host.betweenTransactions = true;
    r.listens.flush();
    expect(r.written).toEqual([]);
  });
});
