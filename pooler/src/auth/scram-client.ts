// The pooler as a SCRAM-SHA-256 client toward PostgreSQL servers (RFC 5802 §3 and §7, RFC 7677),
// as libpq does it (src/interfaces/libpq/fe-auth-scram.c): no channel binding ("n,,"), an empty
// user name in the message (PostgreSQL uses the StartupMessage's user), SASLprep'd password.
//
// Usage: clientFirst() → SASLInitialResponse; serverFirst(SASLContinue data) → SASLResponse;
// serverFinal(SASLFinal data) verifies the server's signature. The caller must also refuse an
// AuthenticationOk that arrives before serverFinal() succeeded (`completed`), or a server that
// never proved it knows the verifier could skip the last step.
import { createHash, randomBytes } from 'node:crypto';
import {
  constantTimeEqual,
  decodeBase64Strict,
  hi,
  hmac,
  normalizePassword,
  type ScramKeys,
  scramKeys,
  xor,
} from '../../../shared/src/auth/scram-crypto.ts';
import { ProtocolError } from '../net/framer.ts';

/** libpq's SCRAM_RAW_NONCE_LEN. */
const CLIENT_NONCE_BYTES = 18;
/**
 * Hi() runs synchronously on the event loop, so refuse absurd iteration counts from a server
 * (PostgreSQL's default is 4096; 1,000,000 costs about half a second, once per cached key).
 */
export const MAX_SERVER_ITERATIONS = 1_000_000;

export class ScramClientError extends Error {
  readonly code: 'SCRAM_SERVER_SIGNATURE_MISMATCH' | 'SCRAM_SERVER_ERROR' | 'SCRAM_ITERATIONS_TOO_HIGH';
  constructor(code: ScramClientError['code'], message: string) {
    super(message);
    this.name = 'ScramClientError';
    this.code = code;
  }
}

/**
 * Derived keys per (password, salt, iterations): a server's salt and iteration count are fixed by
 * its stored verifier, so every new connection to it would otherwise recompute the same PBKDF2.
 * Bounded; keyed by a hash, so the map's keys do not hold the password.
 */
const KEY_CACHE_MAX = 256;
const keyCache = new Map<string, ScramKeys>();

function derivedKeys(password: string, salt: Buffer, iterations: number): ScramKeys {
  const id = createHash('sha256').update(password, 'utf8').update('\0').update(salt).update(`\0${iterations}`).digest('base64');
  let keys = keyCache.get(id);
  if (keys === undefined) {
    keys = scramKeys(hi(normalizePassword(password), salt, iterations));
    if (keyCache.size >= KEY_CACHE_MAX) {
      const oldest = keyCache.keys().next().value;
      if (oldest !== undefined) keyCache.delete(oldest);
    }
    keyCache.set(id, keys);
  }
  return keys;
}

export class ScramClientSession {
  private readonly password: string;
  private readonly clientNonce: string;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | undefined;
  private state: 'initial' | 'first-sent' | 'final-sent' | 'done' = 'initial';

  /** tls-server-end-point data of the server's certificate: SCRAM-SHA-256-PLUS (channel-binding.ts). */
  private readonly channelBinding: Buffer | undefined;
  /** gs2 header: "n,," without channel binding, "p=tls-server-end-point,," with it. */
  private readonly gs2Header: string;

  constructor(password: string, opts: { clientNonce?: string; channelBinding?: Buffer | undefined } = {}) {
    this.password = password;
    this.clientNonce = opts.clientNonce ?? randomBytes(CLIENT_NONCE_BYTES).toString('base64');
    this.channelBinding = opts.channelBinding;
    this.gs2Header = opts.channelBinding === undefined ? 'n,,' : 'p=tls-server-end-point,,';
  }

  /** The mechanism to name in SASLInitialResponse. */
  get mechanism(): 'SCRAM-SHA-256' | 'SCRAM-SHA-256-PLUS' {
    return this.channelBinding === undefined ? 'SCRAM-SHA-256' : 'SCRAM-SHA-256-PLUS';
  }

  /** True once the server's signature has been verified. */
  get completed(): boolean {
    return this.state === 'done';
  }

  /** The client-first-message for SASLInitialResponse. */
  clientFirst(): string {
    if (this.state !== 'initial') throw new ProtocolError('SCRAM exchange already started');
    this.state = 'first-sent';
    this.clientFirstBare = `n=,r=${this.clientNonce}`;
    return `${this.gs2Header}${this.clientFirstBare}`;
  }

  /** Takes the server-first-message (SASLContinue); returns the client-final-message (SASLResponse). */
  serverFirst(data: string): string {
    if (this.state !== 'first-sent') throw new ProtocolError('unexpected SCRAM server-first-message');
    this.state = 'final-sent';
    const attrs = data.split(',');
    const [r, s, i] = attrs;
    if (r?.startsWith('m=')) throw new ProtocolError('server requires an unsupported SCRAM extension');
    if (!r?.startsWith('r=') || !s?.startsWith('s=') || !i?.startsWith('i=')) {
      throw new ProtocolError('malformed SCRAM server-first-message');
    }
    const nonce = r.slice(2);
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) {
      throw new ProtocolError('invalid SCRAM server-first-message: nonce mismatch');
    }
    const salt = decodeBase64Strict(s.slice(2));
    if (salt === undefined || salt.length === 0) throw new ProtocolError('invalid SCRAM server-first-message: malformed salt');
    if (!/^[1-9][0-9]{0,9}$/.test(i.slice(2))) throw new ProtocolError('invalid SCRAM server-first-message: malformed iteration count');
    const iterations = Number(i.slice(2));
    if (iterations > MAX_SERVER_ITERATIONS) {
      throw new ScramClientError('SCRAM_ITERATIONS_TOO_HIGH', `server asks for ${iterations} SCRAM iterations; at most ${MAX_SERVER_ITERATIONS} are allowed`);
    }

    const { clientKey, storedKey, serverKey } = derivedKeys(this.password, salt, iterations);
    // c= is base64 of the gs2 header we sent ("biws" for "n,,"), followed with channel binding by
    // the binding data (RFC 5802 §7, cbind-input): the server must see the same certificate hash.
    const header = Buffer.from(this.gs2Header, 'latin1');
    const cbind = this.channelBinding === undefined ? header : Buffer.concat([header, this.channelBinding]);
    const withoutProof = `c=${cbind.toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${data},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.expectedServerSignature = hmac(serverKey, authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Takes the server-final-message (SASLFinal); throws unless the server proved it holds the verifier. */
  serverFinal(data: string): void {
    if (this.state !== 'final-sent' || this.expectedServerSignature === undefined) {
      throw new ProtocolError('unexpected SCRAM server-final-message');
    }
    if (data.startsWith('e=')) {
      // server-error (RFC 5802 §7); PostgreSQL sends an ErrorResponse instead, but be ready.
      throw new ScramClientError('SCRAM_SERVER_ERROR', `SCRAM authentication failed: ${data.slice(2).split(',')[0] ?? ''}`);
    }
    const v = data.startsWith('v=') ? decodeBase64Strict(data.slice(2).split(',')[0] ?? '') : undefined;
    if (v === undefined) throw new ProtocolError('malformed SCRAM server-final-message');
    if (!constantTimeEqual(v, this.expectedServerSignature)) {
      throw new ScramClientError('SCRAM_SERVER_SIGNATURE_MISMATCH', 'the server failed SCRAM authentication: wrong server signature');
    }
    this.state = 'done';
  }
}
