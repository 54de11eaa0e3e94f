// TLS toward PostgreSQL servers (docs/tls.md), with libpq's sslmode semantics (libpq docs, "SSL
// Support", "Protection Provided in Different Modes"):
//   disable      no SSLRequest
//   prefer       SSLRequest; TLS without verification if the server says 'S', plaintext on 'N'
//   require      TLS or fail; no verification unless a CA file is configured (then like verify-ca)
//   verify-ca    TLS, the certificate must chain to the CA (ca_file, else Node's public roots)
//   verify-full  verify-ca plus the host name (or IP) must match the certificate (RFC 6125)
import { isIP, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { ServerTlsMode } from '../config/tls-schema.ts';

/** The TLS part of a ServerTarget: plain data (compared with JSON.stringify on reload). */
export interface ServerTls {
  readonly mode: ServerTlsMode;
  /** PEM text of the CA bundle, read once per snapshot (config/snapshot.ts). */
  readonly ca?: string | undefined;
}

/** Whether the server's certificate chain is checked (libpq: verify-*, or require with a root file). */
export function verifiesChain(tls: ServerTls): boolean {
  return tls.mode === 'verify-ca' || tls.mode === 'verify-full' || (tls.mode === 'require' && tls.ca !== undefined);
}

/** Options for `tls.connect` over an already connected socket that got 'S' to its SSLRequest. */
export function serverTlsOptions(socket: Socket, host: string, tls: ServerTls): ConnectionOptions {
  const options: ConnectionOptions = {
    socket,
    // `host` is what checkServerIdentity compares against when no servername is set (IP targets).
    host,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: verifiesChain(tls),
  };
  // SNI carries DNS names only (RFC 6066 §3); an IP target is checked against IP SANs instead.
  if (isIP(host) === 0) options.servername = host;
  if (tls.ca !== undefined) options.ca = tls.ca;
  // verify-ca checks the chain but not the name; below verify-full the name never matters.
  if (tls.mode !== 'verify-full') options.checkServerIdentity = () => undefined;
  return options;
}
