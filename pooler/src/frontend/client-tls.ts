// TLS toward clients (docs/tls.md). The listener answers SSLRequest with 'S' and then runs the TLS
// handshake on the same TCP connection, after which the start-up continues inside TLS (protocol
// docs, "SSL Session Encryption"). The SecureContext is built from files once per (re)load and
// shared by every connection, so a reload swaps certificates for new connections only.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { ConfigError } from '../config/snapshot.ts';
import type { ClientTlsMode, ListenTlsConfig } from '../config/tls-schema.ts';

export interface ClientTls {
  readonly mode: ClientTlsMode;
  /** Present whenever mode is not `disable`. */
  readonly context: SecureContext | undefined;
}

export const CLIENT_TLS_DISABLED: ClientTls = { mode: 'disable', context: undefined };

/** The single-byte answer to SSLRequest when we go on with TLS. */
export const SSL_ACCEPTED = Buffer.from('S');

function readPem(path: string, baseDir: string, key: string): Buffer {
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`listen.tls.${key}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads the certificate, key and optional CA files and builds the context. Throws ConfigError
 * naming the offending key; the message never contains key material (OpenSSL's messages do not).
 */
export function loadClientTls(cfg: ListenTlsConfig | undefined, baseDir: string): ClientTls {
  if (cfg === undefined || cfg.mode === 'disable') return CLIENT_TLS_DISABLED;
  // The schema requires both files outside `disable`; this guards direct callers.
  if (cfg.cert_file === undefined || cfg.key_file === undefined) throw new ConfigError(`listen.tls: cert_file and key_file are required when mode is "${cfg.mode}"`);
  const cert = readPem(cfg.cert_file, baseDir, 'cert_file');
  const key = readPem(cfg.key_file, baseDir, 'key_file');
  const ca = cfg.ca_file === undefined ? undefined : readPem(cfg.ca_file, baseDir, 'ca_file');
  try {
    // TLS 1.2 is PostgreSQL's default ssl_min_protocol_version and Node's default minimum too.
    const context = createSecureContext({ cert, key, ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' });
    return { mode: cfg.mode, context };
  } catch (err) {
    throw new ConfigError(`listen.tls: cannot use cert_file/key_file: ${(err as Error).message}`);
  }
}

/**
 * Wraps an accepted TCP socket in a server-side TLS socket. The caller must have removed its own
 * 'data' listener first: from here on the raw bytes belong to the TLS layer. The handshake runs
 * when the client's ClientHello arrives; 'data' on the returned socket carries decrypted bytes.
 */
export function upgradeClientSocket(socket: Socket, context: SecureContext): TLSSocket {
  // Client certificates are not requested: authentication stays SCRAM/md5 against stored verifiers.
  return new TLSSocket(socket, { isServer: true, secureContext: context, requestCert: false });
}
