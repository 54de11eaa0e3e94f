// Limits on client connections, checked when one is accepted, before anything is read from it
// (pooler.ts refuses with FATAL 53300, as PostgreSQL answers "sorry, too many clients already"):
// - limits.max_client_conn: connections open at once, logged in or not (PgBouncer's
//   max_client_conn), so descriptors and per-connection memory have a bound;
// - limits.max_unauthenticated_per_address: connections from one address that have not logged in
//   yet, so one host cannot take the whole budget with connections that never authenticate (they
//   end at the login timeout, frontend/login.ts). IPv6 addresses count per /64, the block one
//   host usually holds; IPv4-mapped IPv6 addresses count as IPv4.
// A connection is identified by its address and port: a TLS socket wrapping it reports the same.
import { isIPv6, type Socket } from 'node:net';

export interface AdmissionLimits {
  readonly max_client_conn: number;
  readonly max_unauthenticated_per_address: number;
}

export interface Refusal {
  readonly limit: 'max_client_conn' | 'max_unauthenticated_per_address';
  readonly message: string;
}

/** The address a connection counts against: IPv4 as is, IPv6 by its /64 prefix. */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return '?';
  // IPv4 (no colon): as is, without isIPv6's parse (one per accepted connection).
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  // Expand "::" to the missing groups, then keep the first four.
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g.replace(/^0+/, '') || '0').toLowerCase())
    .join(':')}::/64`;
}

let unknownPeers = 0;

/** Address and port: unique among open connections; a socket already gone gets a one-off id. */
function connectionId(socket: Socket): string {
  const address = socket.remoteAddress;
  return address === undefined ? `gone|${unknownPeers++}` : `${address}|${socket.remotePort}`;
}

export class Admission {
  /** Client connections open now. */
  open = 0;
  /** Per address key: connections not logged in yet. */
  private readonly unauthenticated = new Map<string, number>();
  /** Per connection not logged in yet: its address key. */
  private readonly pending = new Map<string, string>();

  /** Counts the connection in, or says which limit refuses it (then nothing is counted). */
  admit(socket: Socket, limits: AdmissionLimits): Refusal | undefined {
    if (this.open >= limits.max_client_conn) {
      return { limit: 'max_client_conn', message: `sorry, too many clients already (limits.max_client_conn ${limits.max_client_conn})` };
    }
    const key = addressKey(socket.remoteAddress);
    const n = this.unauthenticated.get(key) ?? 0;
    if (n >= limits.max_unauthenticated_per_address) {
      return {
        limit: 'max_unauthenticated_per_address',
        message: `too many connections from this address that have not logged in yet (limits.max_unauthenticated_per_address ${limits.max_unauthenticated_per_address})`,
      };
    }
    const id = connectionId(socket);
    this.open++;
    this.unauthenticated.set(key, n + 1);
    this.pending.set(id, key);
    if (socket.remoteAddress !== undefined) {
      // One listener shared by every connection (it finds the id again from the socket, whose
      // address Node keeps once read): no closure and once-wrapper per idle client.
      socket.on('close', this.onClose);
    } else {
      socket.once('close', () => {
        this.open--;
        this.settle(id);
      });
    }
    return undefined;
  }

  private readonly onClose = ((admission: Admission) =>
    function (this: Socket): void {
      admission.open--;
      admission.settle(connectionId(this));
    })(this);

  /** The connection has logged in (its socket may be the TLS socket over the accepted one). */
  loggedIn(socket: Socket): void {
    this.settle(connectionId(socket));
  }

  /** Connections of `address` not logged in yet (tests, diagnostics). */
  unauthenticatedFrom(address: string): number {
    return this.unauthenticated.get(addressKey(address)) ?? 0;
  }

  private settle(id: string): void {
    const key = this.pending.get(id);
    if (key === undefined) return;
    this.pending.delete(id);
    const n = (this.unauthenticated.get(key) ?? 1) - 1;
    if (n <= 0) this.unauthenticated.delete(key);
    else this.unauthenticated.set(key, n);
  }
}
