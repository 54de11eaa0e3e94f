// A CancelRequest to a server (protocol docs, "Canceling Requests in Progress"): a new connection
// carrying only the request's 16 bytes. The server closes it after signalling the backend, so the
// promise resolves once the cancel has been delivered (or could not be, within `timeoutMs`).
import { connect as netConnect } from 'node:net';
import * as msg from '../net/messages.ts';
import type { ServerConnection } from './server.ts';

export function cancelServerRequest(server: ServerConnection, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect({ host: server.host, port: server.port }, () => s.end(msg.cancelRequest(server.processId, server.secretKey)));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.setTimeout(timeoutMs, () => s.destroy());
  });
}
