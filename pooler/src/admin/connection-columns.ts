// The column list SHOW CLIENTS and SHOW SERVERS share (PgBouncer 1.18, usage docs "SHOW CLIENTS"),
// and how a socket fills the address and TLS columns.
import type { Socket } from 'node:net';
import { cols, INT4, TEXT } from './result.ts';

export const CONNECTION_COLUMNS = cols(
  ['type', TEXT],
  ['user', TEXT],
  ['database', TEXT],
  ['state', TEXT],
  ['addr', TEXT],
  ['port', INT4],
  ['local_addr', TEXT],
  ['local_port', INT4],
  ['connect_time', TEXT],
  ['request_time', TEXT],
  ['wait', INT4],
  ['wait_us', INT4],
  ['close_needed', INT4],
  ['ptr', TEXT],
  ['link', TEXT],
  ['remote_pid', INT4],
  ['tls', TEXT],
  ['application_name', TEXT],
);

/** PgBouncer prints object addresses in ptr/link; we print stable ids: c<n> clients, s<n> servers, a<n> admin sessions. */
export const clientPtr = (id: number): string => `c${id}`;
export const serverPtr = (id: number): string => `s${id}`;
export const adminPtr = (id: number): string => `a${id}`;

/** The negotiated TLS protocol and cipher, or '' for a plaintext socket. */
export function tlsOf(socket: Socket): string {
  const s = socket as Socket & { getProtocol?: () => string | null; getCipher?: () => { name: string } };
  if (typeof s.getProtocol !== 'function') return '';
  const proto = s.getProtocol() ?? '';
  const cipher = typeof s.getCipher === 'function' ? s.getCipher().name : '';
  return cipher ? `${proto}/${cipher}` : proto;
}

export function addressCells(socket: Socket): [string | null, number, string | null, number] {
  return [socket.remoteAddress ?? null, socket.remotePort ?? 0, socket.localAddress ?? null, socket.localPort ?? 0];
}
