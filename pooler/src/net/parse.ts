// Decoders for message bodies on the slow paths (authentication and start-up, both directions).
// Input is a body as returned by MessageFramer (type and length already removed). Every reader
// checks bounds and throws ProtocolError on truncation or trailing garbage, so a hostile peer
// can never make us read past a message (PostgreSQL docs, "Message Formats").
import { ProtocolError } from './framer.ts';

/** A bounds-checked cursor over one message body. */
class BodyReader {
  private offset = 0;
  private readonly body: Buffer;
  private readonly what: string;

  constructor(body: Buffer, what: string) {
    this.body = body;
    this.what = what;
  }

  get remaining(): number {
    return this.body.length - this.offset;
  }

  private need(n: number): void {
    if (this.remaining < n) throw new ProtocolError(`truncated ${this.what} message`);
  }

  int32(): number {
    this.need(4);
    const v = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  byte(): number {
    this.need(1);
    return this.body[this.offset++] as number;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.body.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    if (end === -1) throw new ProtocolError(`unterminated string in ${this.what} message`);
    const v = this.body.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return v;
  }

  end(): void {
    if (this.remaining !== 0) throw new ProtocolError(`invalid ${this.what} message: ${this.remaining} unexpected trailing bytes`);
  }
}

/**
 * ErrorResponse / NoticeResponse fields keyed by their one-character code ('S', 'V', 'C', 'M', ...).
 * Unknown codes are kept (the docs say clients must ignore fields they do not recognise).
 */
export function parseErrorFields(body: Buffer): Record<string, string> {
  const r = new BodyReader(body, 'error/notice');
  const fields = Object.create(null) as Record<string, string>;
  for (;;) {
    const code = r.byte();
    if (code === 0) break;
    fields[String.fromCharCode(code)] = r.cstring();
  }
  r.end();
  return fields;
}

export interface AuthRequest {
  kind: 'ok' | 'cleartext' | 'md5' | 'sasl' | 'sasl-continue' | 'sasl-final';
  /** md5: the 4-byte salt. */
  salt?: Buffer;
  /** sasl: the mechanisms the server offers. */
  mechanisms?: string[];
  /** sasl-continue / sasl-final: the SCRAM message. */
  data?: string;
}

/** An Authentication* ('R') message from a server. Methods we cannot perform throw ProtocolError. */
export function parseAuthRequest(body: Buffer): AuthRequest {
  const r = new BodyReader(body, 'authentication request');
  const code = r.int32();
  switch (code) {
    case 0:
      r.end();
      return { kind: 'ok' };
    case 3:
      r.end();
      return { kind: 'cleartext' };
    case 5: {
      const salt = r.bytes(4);
      r.end();
      return { kind: 'md5', salt };
    }
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        const m = r.cstring();
        if (m === '') break;
        mechanisms.push(m);
      }
      r.end();
      return { kind: 'sasl', mechanisms };
    }
    case 11:
      return { kind: 'sasl-continue', data: r.rest().toString('utf8') };
    case 12:
      return { kind: 'sasl-final', data: r.rest().toString('utf8') };
    default:
      // 2 KerberosV5, 7 GSS, 8 GSSContinue, 9 SSPI: not something the pooler can answer.
      throw new ProtocolError(`unsupported authentication request code ${code}`);
  }
}

export function parseParameterStatus(body: Buffer): { name: string; value: string } {
  const r = new BodyReader(body, 'ParameterStatus');
  const name = r.cstring();
  const value = r.cstring();
  r.end();
  return { name, value };
}

export function parseBackendKeyData(body: Buffer): { processId: number; secretKey: number } {
  const r = new BodyReader(body, 'BackendKeyData');
  const processId = r.int32();
  const secretKey = r.int32();
  r.end();
  return { processId, secretKey };
}

/**
 * A PasswordMessage's password (cleartext or md5 response) as raw bytes without the terminator.
 * Raw, so a comparison never round-trips through a string decoder.
 */
export function parsePasswordMessage(body: Buffer): Buffer {
  const end = body.indexOf(0);
  if (end === -1) throw new ProtocolError('unterminated string in password message');
  if (end !== body.length - 1) throw new ProtocolError('invalid password message: unexpected trailing bytes');
  return body.subarray(0, end);
}

/**
 * SASLInitialResponse: mechanism name, int32 data length (-1 = no initial response, returned as
 * an empty buffer: SCRAM always needs one, so the SCRAM code rejects it), data.
 */
export function parseSaslInitialResponse(body: Buffer): { mechanism: string; data: Buffer } {
  const r = new BodyReader(body, 'SASLInitialResponse');
  const mechanism = r.cstring();
  const len = r.int32();
  if (len < -1) throw new ProtocolError(`invalid SASLInitialResponse data length ${len}`);
  const data = len === -1 ? Buffer.alloc(0) : r.bytes(len);
  r.end();
  return { mechanism, data };
}

/**
 * SASLResponse (also type 'p'): unlike PasswordMessage its body is the raw SASL data with no
 * NUL terminator and no length prefix, so it must not be read with parsePasswordMessage.
 */
export function parseSaslResponse(body: Buffer): Buffer {
  return body;
}
