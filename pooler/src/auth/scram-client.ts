// The pooler as a SCRAM-SHA-256 client toward PostgreSQL servers (RFC 5802 §3 and §7, RFC 7677),
// as libpq does it (src/interfaces/libpq/fe-auth-scram.c): no channel binding ("n,,"), an empty
// user name in the message (PostgreSQL uses the StartupMessage's user), SASLprep'd password.
//
// Usage: clientFirst() → SASLInitialResponse; await serverFirst(SASLContinue data) → SASLResponse;
// serverFinal(SASLFinal data) verifies the server's signature. serverFirst is asynchronous: the
// salted password is derived off the event loop, capped and cached (scram-keys.ts). The caller
// must also refuse an AuthenticationOk that arrives before serverFinal() succeeded (`completed`),
// or a server that never proved it knows the verifier could skip the last step.
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, decodeBase64Strict, hmac, xor } from '../../../shared/src/auth/scram-crypto.ts';
import { ProtocolError } from '../net/framer.ts';
import { serverScramKeys, type ScramKeyCache } from './scram-keys.ts';

/** libpq's SCRAM_RAW_NONCE_LEN. */
const CLIENT_NONCE_BYTES = 18;

export class ScramClientError extends Error {
  readonly code: 'SCRAM_SERVER_SIGNATURE_MISMATCH' | 'SCRAM_SERVER_ERROR';
  constructor(code: ScramClientError['code'], message: string) {
    super(message);
    this.name = 'ScramClientError';
    this.code = code;
  }
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
  private readonly keys: ScramKeyCache;
  /** Who chose the iteration count (the destination), for ScramKeyCache's turns. */
  private readonly owner: string;

  constructor(
    password: string,
    opts: { clientNonce?: string; channelBinding?: Buffer | undefined; keys?: ScramKeyCache; owner?: string } = {},
  ) {
    this.password = password;
    this.keys = opts.keys ?? serverScramKeys;
    this.owner = opts.owner ?? '';
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

  /**
   * Takes the server-first-message (SASLContinue); resolves to the client-final-message
   * (SASLResponse). Rejects with ScramIterationsError when the server asks for more iterations than
   * the cache's limit, ProtocolError when the message is malformed.
   */
  async serverFirst(data: string): Promise<string> {
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

    const { clientKey, storedKey, serverKey } = await this.keys.derive(this.password, salt, iterations, this.owner);
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
