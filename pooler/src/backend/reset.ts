// Cleans a server connection whose client left, before it goes back to the pool: ROLLBACK an open
// transaction, and in session mode DISCARD ALL (the session state was the client's). Each is sent
// as its own Query because DISCARD ALL cannot run inside a transaction block; the replies are
// swallowed, counting ReadyForQuery messages. A connection that does not come back clean in time
// is closed instead.
import * as msg from '../net/messages.ts';
import type { ScanSink } from '../net/scanner.ts';
import type { DisconnectReason } from '../errors.ts';
import type { Pool } from './pool.ts';
import type { ServerConnection, ServerLink } from './server.ts';

const RESET_TIMEOUT_MS = 5000;

export function resetServer(server: ServerConnection, pool: Pool, what: { rollback: boolean; discardAll: boolean }): void {
  if (!what.rollback && !what.discardAll) {
    pool.release(server);
    return;
  }
  const queries: Buffer[] = [];
  if (what.rollback) queries.push(msg.query('ROLLBACK'));
  if (what.discardAll) queries.push(msg.query('DISCARD ALL'));
  let awaiting = queries.length;
  let lastStatus = 0;
  const timer = setTimeout(() => server.close('reset_failed'), RESET_TIMEOUT_MS);
  const sink: ScanSink = {
    onMessage(type, first) {
      if (type === 0x5a /* Z */) {
        awaiting--;
        lastStatus = first;
      }
    },
  };
  const link: ServerLink = {
    onServerData(chunk) {
      try {
        server.scanner.scan(chunk, sink);
      } catch {
        clearTimeout(timer);
        server.close('reset_failed');
        return;
      }
      if (awaiting === 0) {
        clearTimeout(timer);
        if (lastStatus === 0x49 /* I */ && server.scanner.atBoundary()) pool.release(server);
        else server.close('reset_failed');
      }
    },
    onServerClosed(_server: ServerConnection, _reason: DisconnectReason) {
      clearTimeout(timer);
    },
  };
  server.link = link;
  server.socket.write(queries.length === 1 ? queries[0]! : Buffer.concat(queries));
}
