// The pooler as a SCRAM-SHA-256 server toward its clients (RFC 5802 §5 and §7, RFC 7677),
// checking the client's proof against a stored verifier (StoredKey/ServerKey), so the pooler never
// needs the client's password. Behaviour follows PostgreSQL's src/backend/libpq/auth-scram.c:
//
// - Over TLS, "SCRAM-SHA-256-PLUS" is offered too, with channel binding type tls-server-end-point
//   (RFC 5929 §4.1, auth/channel-binding.ts), as PostgreSQL does: a client that selects it must send
//   gs2 flag 'p=tls-server-end-point' and prove the hash of the pooler's certificate in c=.
//   Without TLS only "SCRAM-SHA-256" is offered: flags 'n' and 'y' are accepted, 'p' refused.
//   The negotiation errors are PostgreSQL's (read_client_first_message): 'y' while the server does
//   offer binding means something stripped -PLUS from the list on the way (a downgrade), and the
//   mechanism must agree with the flag.
// - The user name inside the SCRAM message is ignored; the StartupMessage's user is what counts.
// - An unknown user gets a mock exchange (a stable fake salt per user name, like scram_mock_salt)
//   that fails only at the proof, so the pooler does not reveal which users exist.
// - Malformed messages throw ProtocolError (FATAL 08P01); a wrong proof returns { ok: false }
//   (the caller answers FATAL 28P01 "password authentication failed").
//
// Password rotation: SCRAM sends the salt and iteration count before the client proves anything,
// so one exchange can only test verifiers that share salt and iterations. The constructor accepts
// several such verifiers (create the new one with the old one's salt, or run one exchange per
// verifier). Verifiers with a different salt than the first are refused at construction.
import { createHmac, hash, randomBytes, randomFillSync } from 'node:crypto';
import { constantTimeEqual, decodeBase64Strict, hmac, SCRAM_KEY_LENGTH, xor } from '../../../shared/src/auth/scram-crypto.ts';
import { DEFAULT_SALT_LENGTH, DEFAULT_SCRAM_ITERATIONS, type ScramVerifier } from '../../../shared/src/auth/verifier.ts';
import { ProtocolError } from '../net/framer.ts';

export type { ScramVerifier } from '../../../shared/src/auth/verifier.ts';

/** PostgreSQL's SCRAM_RAW_NONCE_LEN: 18 random bytes, base64 in the message. */
const SERVER_NONCE_BYTES = 18;

/**
 * Server nonces are cut from CSPRNG bytes drawn NONCE_BATCH at a time: one randomFillSync per 256
 * logins instead of a randomBytes call (and its Buffer) per login. Each slice is used once and
 * zeroed once encoded, so a later read of the pool never sees an issued nonce.
 */
const NONCE_BATCH = 256;
const noncePool = Buffer.alloc(SERVER_NONCE_BYTES * NONCE_BATCH);
let nonceUsed = noncePool.length;

function newServerNonce(): string {
  if (nonceUsed === noncePool.length) {
    randomFillSync(noncePool);
    nonceUsed = 0;
  }
  const end = nonceUsed + SERVER_NONCE_BYTES;
  const nonce = noncePool.toString('base64', nonceUsed, end);
  noncePool.fill(0, nonceUsed, end);
  nonceUsed = end;
  return nonce;
}

/** H(str), SHA-256 (RFC 5802 §2.2) as a one-shot digest: no Hash object per login, unlike createHash. */
function h(data: Buffer): Buffer {
  return hash('sha256', data, 'buffer');
}

/** Secret of this process for mock salts: stable per user while the process lives, unguessable. */
const mockSecret = randomBytes(32);

export interface ScramServerOptions {
  /** The StartupMessage's user name; makes the mock salt of an unknown user stable across attempts. */
  user?: string;
  /**
   * tls-server-end-point data of this connection's certificate (channel-binding.ts): present when
   * the connection is TLS with a certificate that allows binding, and SCRAM-SHA-256-PLUS is offered.
   */
  channelBinding?: Buffer;
  /** Fixed server nonce (tests only). */
  serverNonce?: string;
}

export type ScramFinalResult = { ok: true; serverFinal: string; /** Which verifier matched (rotation metrics). */ verifierIndex: number } | { ok: false };

export class ScramServerSession {
  private readonly verifiers: readonly ScramVerifier[];
  /** Salt, iterations (and, for the mock, keys) of the exchange. */
  private readonly salt: Buffer;
  private readonly iterations: number;
  private readonly mock: boolean;
  private readonly serverNonce: string;
  private readonly channelBinding: Buffer | undefined;
  /** The client chose SCRAM-SHA-256-PLUS: c= must carry the binding data. */
  private bound = false;
  private state: 'initial' | 'first-received' | 'done' = 'initial';
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare: Buffer = Buffer.alloc(0);
  private serverFirst = '';

  constructor(verifier: ScramVerifier | readonly ScramVerifier[] | undefined, opts: ScramServerOptions = {}) {
    const list = verifier === undefined ? [] : Array.isArray(verifier) ? (verifier as readonly ScramVerifier[]) : [verifier as ScramVerifier];
    const first = list[0];
    if (first) {
      for (const v of list) {
        if (v.iterations !== first.iterations || !v.salt.equals(first.salt)) {
          throw new TypeError('ScramServerSession: all verifiers of one exchange must share salt and iteration count');
        }
      }
      this.verifiers = list;
      this.salt = first.salt;
      this.iterations = first.iterations;
      this.mock = false;
    } else {
      this.verifiers = [];
      this.salt =
        opts.user === undefined
          ? randomBytes(DEFAULT_SALT_LENGTH)
          : createHmac('sha256', mockSecret).update(opts.user, 'utf8').digest().subarray(0, DEFAULT_SALT_LENGTH);
      this.iterations = DEFAULT_SCRAM_ITERATIONS;
      this.mock = true;
    }
    this.serverNonce = opts.serverNonce ?? newServerNonce();
    this.channelBinding = opts.channelBinding;
  }

  /** The SASL mechanisms to offer, preferred first (PostgreSQL's order). */
  get mechanisms(): readonly string[] {
    return this.channelBinding === undefined ? PLAIN_ONLY : WITH_PLUS;
  }

  /**
   * Takes the mechanism the client selected and its client-first-message (SASLInitialResponse);
   * returns the server-first-message.
   */
  clientFirst(data: Buffer, mechanism: string = SCRAM_SHA_256): string {
    if (this.state !== 'initial') throw new ProtocolError('unexpected SCRAM client-first-message');
    this.state = 'first-received';
    if (mechanism !== SCRAM_SHA_256 && !(mechanism === SCRAM_SHA_256_PLUS && this.channelBinding !== undefined)) {
      throw new ProtocolError(`SASL mechanism "${printable(mechanism)}" is not offered on this connection`);
    }
    const plus = mechanism === SCRAM_SHA_256_PLUS;
    const msg = data.toString('utf8');
    if (msg.length === 0) throw malformed('the message is empty');

    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const flag = msg[0];
    let pos: number;
    if (flag === 'n' || flag === 'y') {
      if (msg[1] !== ',') throw malformed(`comma expected after the channel-binding flag`);
      if (plus) throw negotiation('The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.');
      if (flag === 'y' && this.channelBinding !== undefined) {
        throw negotiation('The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.');
      }
      pos = 2;
    } else if (flag === 'p') {
      if (!plus) throw negotiation('The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.');
      // gs2-cbind-flag = "p=" cb-name
      if (msg[1] !== '=') throw malformed('"=" expected after "p"');
      const comma = msg.indexOf(',', 2);
      if (comma === -1) throw malformed('comma expected after the channel-binding type');
      const type = msg.slice(2, comma);
      if (type !== 'tls-server-end-point') throw new ProtocolError(`unsupported SCRAM channel-binding type "${printable(type)}"`);
      this.bound = true;
      pos = comma + 1;
    } else {
      throw malformed(`unexpected channel-binding flag "${printable(flag)}"`);
    }
    if (msg.startsWith('a=', pos)) throw new ProtocolError('client uses authorization identity, but it is not supported');
    if (msg[pos] !== ',') throw malformed('comma expected after the gs2 header');
    pos++;
    this.gs2Header = msg.slice(0, pos);
    // The header is ASCII, so its byte length equals its character length.
    this.clientFirstBare = data.subarray(pos);

    const attrs = splitAttributes(msg.slice(pos));
    const [first, second] = attrs;
    if (first?.name === 'm') throw new ProtocolError('client requires an unsupported SCRAM extension');
    if (first?.name !== 'n') throw malformed('user name attribute expected');
    if (second?.name !== 'r') throw malformed('nonce attribute expected');
    const clientNonce = second.value;
    if (clientNonce.length === 0 || !isPrintable(clientNonce)) throw malformed('the client nonce contains invalid characters');
    // Further attributes are extensions, which we ignore (RFC 5802 §5.1).

    this.nonce = clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.nonce},s=${this.salt.toString('base64')},i=${this.iterations}`;
    return this.serverFirst;
  }

  /** Takes the client-final-message (SASLResponse data); checks the proof. */
  clientFinal(data: Buffer): ScramFinalResult {
    if (this.state !== 'first-received') throw new ProtocolError('unexpected SCRAM client-final-message');
    this.state = 'done';
    const msg = data.toString('utf8');
    // client-final-message = client-final-message-without-proof "," proof; the proof comes last.
    const proofAt = data.lastIndexOf(',p=');
    if (proofAt === -1) throw malformed('proof expected at the end of the client-final-message');
    const attrs = splitAttributes(msg);
    const [cbind, nonce] = attrs;
    if (cbind?.name !== 'c') throw malformed('channel-binding attribute expected');
    if (nonce?.name !== 'r') throw malformed('nonce attribute expected');
    const proofAttr = attrs[attrs.length - 1];
    if (attrs.length < 3 || proofAttr?.name !== 'p') throw malformed('proof expected at the end of the client-final-message');

    // c= carries the base64 of the gs2 header we received, followed with channel binding by the
    // binding data (RFC 5802 §7 "cbind-input"): the hash of our certificate as the client saw it.
    const cbindData = decodeBase64(cbind.value, 'channel-binding data');
    const header = Buffer.from(this.gs2Header, 'latin1');
    const expected = this.bound && this.channelBinding !== undefined ? Buffer.concat([header, this.channelBinding]) : header;
    if (!cbindData.equals(expected)) {
      throw new ProtocolError('SCRAM channel binding check failed');
    }
    if (nonce.value !== this.nonce) throw new ProtocolError('SCRAM nonce mismatch');
    const proof = decodeBase64(proofAttr.value, 'proof');
    if (proof.length !== SCRAM_KEY_LENGTH) throw malformed('malformed proof in the client-final-message');

    const authMessage = Buffer.concat([
      this.clientFirstBare,
      Buffer.from(`,${this.serverFirst},`, 'utf8'),
      data.subarray(0, proofAt),
    ]);
    // Check every verifier (no early exit) so timing does not tell which matched.
    let matched = -1;
    this.verifiers.forEach((v, i) => {
      const clientKey = xor(proof, hmac(v.storedKey, authMessage));
      if (constantTimeEqual(h(clientKey), v.storedKey) && matched === -1) matched = i;
    });
    if (this.mock) {
      // Same work as a real check, against keys nobody knows.
      constantTimeEqual(h(xor(proof, hmac(mockSecret, authMessage))), mockSecret);
    }
    const v = this.verifiers[matched];
    if (v === undefined) return { ok: false };
    return { ok: true, serverFinal: `v=${hmac(v.serverKey, authMessage).toString('base64')}`, verifierIndex: matched };
  }
}

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
export const SCRAM_SHA_256_PLUS = 'SCRAM-SHA-256-PLUS';
/** The mechanisms offered without and with channel binding, preferred first (PostgreSQL's order). */
export const PLAIN_ONLY: readonly string[] = [SCRAM_SHA_256];
export const WITH_PLUS: readonly string[] = [SCRAM_SHA_256_PLUS, SCRAM_SHA_256];

function negotiation(detail: string): ProtocolError {
  return new ProtocolError(`SCRAM channel binding negotiation error: ${detail}`);
}

function malformed(what: string): ProtocolError {
  return new ProtocolError(`malformed SCRAM message: ${what}`);
}

/** RFC 5802 "printable": %x21-2B / %x2D-7E (visible ASCII except the comma). */
function isPrintable(s: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]*$/.test(s);
}

function printable(s: string | undefined): string {
  return s === undefined ? '' : s.replace(/[^\x20-\x7e]/g, '?');
}

/** Splits "a=1,b=2" into attributes; every part must be one ASCII letter, '=' and a value. */
function splitAttributes(s: string): { name: string; value: string }[] {
  return s.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=' || !/^[A-Za-z]$/.test(part[0] as string)) {
      throw malformed(`attribute expected, got "${printable(part.slice(0, 20))}"`);
    }
    return { name: part[0] as string, value: part.slice(2) };
  });
}

function decodeBase64(s: string, what: string): Buffer {
  const b = decodeBase64Strict(s);
  if (b === undefined) throw malformed(`${what} is not valid base64`);
  return b;
}
