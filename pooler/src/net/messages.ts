// Serializers for the PostgreSQL v3 messages the pooler itself produces (PostgreSQL docs,
// "Message Formats"). One small function per message, each allocating exactly one Buffer, in the
// style of node-postgres' pg-protocol serializer. Strings are UTF-8; the pooler only speaks to
// clients and servers with client_encoding UTF8 for the texts it generates itself.

/** A cstring may not contain NUL: it would end the string early and desynchronise the framing. */
export class MessageEncodingError extends Error {
  readonly code = 'INVALID_MESSAGE_STRING';
  constructor(message: string) {
    super(message);
    this.name = 'MessageEncodingError';
  }
}

export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG';
  /** SQLSTATE, five characters. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

function cstringLength(s: string): number {
  if (s.includes('\0')) throw new MessageEncodingError('string contains a NUL byte');
  return Buffer.byteLength(s, 'utf8') + 1;
}

/** Allocates a typed message of `bodyLength` body bytes with type and length filled in. */
function typed(type: string, bodyLength: number): Buffer {
  const buf = Buffer.allocUnsafe(5 + bodyLength);
  buf[0] = type.charCodeAt(0);
  buf.writeInt32BE(4 + bodyLength, 1);
  return buf;
}

function putCstring(buf: Buffer, offset: number, s: string): number {
  const n = buf.write(s, offset, 'utf8');
  buf[offset + n] = 0;
  return offset + n + 1;
}

/** A message whose body is a fixed list of int32 values. */
function int32s(type: string, ...values: number[]): Buffer {
  const buf = typed(type, 4 * values.length);
  values.forEach((v, i) => buf.writeInt32BE(v, 5 + 4 * i));
  return buf;
}

/** A message with an int32 auth code followed by raw bytes (SASLContinue / SASLFinal). */
function authWithData(code: number, data: string): Buffer {
  const n = Buffer.byteLength(data, 'utf8');
  const buf = typed('R', 4 + n);
  buf.writeInt32BE(code, 5);
  buf.write(data, 9, 'utf8');
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Backend → client

/** AuthenticationOk. */
export function authenticationOk(): Buffer {
  return int32s('R', 0);
}

/** AuthenticationCleartextPassword. */
export function authenticationCleartext(): Buffer {
  return int32s('R', 3);
}

/** AuthenticationMD5Password with its 4-byte salt. */
export function authenticationMd5(salt: Buffer): Buffer {
  if (salt.length !== 4) throw new MessageEncodingError('md5 salt must be 4 bytes');
  const buf = typed('R', 8);
  buf.writeInt32BE(5, 5);
  salt.copy(buf, 9);
  return buf;
}

/** AuthenticationSASL: the mechanism names, then an empty terminator. */
export function authenticationSasl(mechanisms: string[]): Buffer {
  const len = mechanisms.reduce((n, m) => n + cstringLength(m), 4 + 1);
  const buf = typed('R', len);
  buf.writeInt32BE(10, 5);
  let off = 9;
  for (const m of mechanisms) off = putCstring(buf, off, m);
  buf[off] = 0;
  return buf;
}

/** AuthenticationSASLContinue carrying the server-first-message. */
export function authenticationSaslContinue(data: string): Buffer {
  return authWithData(11, data);
}

/** AuthenticationSASLFinal carrying the server-final-message. */
export function authenticationSaslFinal(data: string): Buffer {
  return authWithData(12, data);
}

export function parameterStatus(name: string, value: string): Buffer {
  const buf = typed('S', cstringLength(name) + cstringLength(value));
  putCstring(buf, putCstring(buf, 5, name), value);
  return buf;
}

export function backendKeyData(processId: number, secretKey: number): Buffer {
  return int32s('K', processId | 0, secretKey | 0);
}

/** ReadyForQuery: 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  const buf = typed('Z', 1);
  buf[5] = status.charCodeAt(0);
  return buf;
}

function fieldsMessage(type: 'E' | 'N', f: ErrorFields): Buffer {
  // S is the localised severity, V (since 9.6) the never-localised one; we send both in English.
  const fields: [string, string][] = [
    ['S', f.severity],
    ['V', f.severity],
    ['C', f.code],
    ['M', f.message],
  ];
  if (f.detail !== undefined) fields.push(['D', f.detail]);
  if (f.hint !== undefined) fields.push(['H', f.hint]);
  const len = fields.reduce((n, [, v]) => n + 1 + cstringLength(v), 1);
  const buf = typed(type, len);
  let off = 5;
  for (const [code, value] of fields) {
    buf[off++] = code.charCodeAt(0);
    off = putCstring(buf, off, value);
  }
  buf[off] = 0;
  return buf;
}

export function errorResponse(f: ErrorFields): Buffer {
  return fieldsMessage('E', f);
}

export function noticeResponse(f: ErrorFields): Buffer {
  return fieldsMessage('N', f);
}

/** CommandComplete, e.g. "SELECT 3" or "SHOW". */
export function commandComplete(tag: string): Buffer {
  const buf = typed('C', cstringLength(tag));
  putCstring(buf, 5, tag);
  return buf;
}

export function emptyQueryResponse(): Buffer {
  return typed('I', 0);
}

/** pg_type.typlen of the types the admin console uses; -1 (varlena) for anything else. */
const TYPE_SIZES: ReadonlyMap<number, number> = new Map([
  [16, 1], // bool
  [20, 8], // int8
  [21, 2], // int2
  [23, 4], // int4
  [26, 4], // oid
  [700, 4], // float4
  [701, 8], // float8
  [1184, 8], // timestamptz
]);

/** RowDescription for text-format columns not taken from a table. */
export function rowDescription(cols: { name: string; typeOid: number }[]): Buffer {
  // Per column: name, table oid int32, column number int16, type oid int32, typlen int16,
  // typmod int32, format int16.
  const len = cols.reduce((n, c) => n + cstringLength(c.name) + 18, 2);
  const buf = typed('T', len);
  buf.writeInt16BE(cols.length, 5);
  let off = 7;
  for (const c of cols) {
    off = putCstring(buf, off, c.name);
    buf.writeInt32BE(0, off);
    buf.writeInt16BE(0, off + 4);
    buf.writeInt32BE(c.typeOid, off + 6);
    buf.writeInt16BE(TYPE_SIZES.get(c.typeOid) ?? -1, off + 10);
    buf.writeInt32BE(-1, off + 12);
    buf.writeInt16BE(0, off + 16);
    off += 18;
  }
  return buf;
}

/** DataRow in text format; null is SQL NULL. */
export function dataRow(values: (string | null)[]): Buffer {
  let len = 2;
  for (const v of values) len += 4 + (v === null ? 0 : Buffer.byteLength(v, 'utf8'));
  const buf = typed('D', len);
  buf.writeInt16BE(values.length, 5);
  let off = 7;
  for (const v of values) {
    if (v === null) {
      buf.writeInt32BE(-1, off);
      off += 4;
    } else {
      const n = buf.write(v, off + 4, 'utf8');
      buf.writeInt32BE(n, off);
      off += 4 + n;
    }
  }
  return buf;
}

/**
 * NegotiateProtocolVersion: the newest minor version we support (0) and the `_pq_.` options
 * from the StartupMessage we did not recognise.
 */
export function negotiateProtocolVersion(newestMinor: number, unrecognizedOptions: string[]): Buffer {
  const len = unrecognizedOptions.reduce((n, o) => n + cstringLength(o), 8);
  const buf = typed('v', len);
  buf.writeInt32BE(newestMinor, 5);
  buf.writeInt32BE(unrecognizedOptions.length, 9);
  let off = 13;
  for (const o of unrecognizedOptions) off = putCstring(buf, off, o);
  return buf;
}

/** The single-byte answer to SSLRequest / GSSENCRequest when we do not encrypt ('N'). */
export function encryptionRefused(): Buffer {
  return Buffer.from('N');
}

// ---------------------------------------------------------------------------------------------
// Frontend → server

/** StartupMessage for protocol 3.0. */
export function startupMessage(params: Record<string, string>): Buffer {
  const entries = Object.entries(params);
  const len = entries.reduce((n, [k, v]) => n + cstringLength(k) + cstringLength(v), 8 + 1);
  const buf = Buffer.allocUnsafe(len);
  buf.writeInt32BE(len, 0);
  buf.writeInt32BE(196608, 4);
  let off = 8;
  for (const [k, v] of entries) off = putCstring(buf, putCstring(buf, off, k), v);
  buf[off] = 0;
  return buf;
}

export function sslRequest(): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeInt32BE(8, 0);
  buf.writeInt32BE(80877103, 4);
  return buf;
}

export function cancelRequest(processId: number, secretKey: number): Buffer {
  const buf = Buffer.allocUnsafe(16);
  buf.writeInt32BE(16, 0);
  buf.writeInt32BE(80877102, 4);
  buf.writeInt32BE(processId | 0, 8);
  buf.writeInt32BE(secretKey | 0, 12);
  return buf;
}

/** PasswordMessage (cleartext or "md5..." response). */
export function passwordMessage(password: string): Buffer {
  const buf = typed('p', cstringLength(password));
  putCstring(buf, 5, password);
  return buf;
}

/** SASLInitialResponse: mechanism, int32 length of the data, the data (client-first-message). */
export function saslInitialResponse(mechanism: string, data: string): Buffer {
  const n = Buffer.byteLength(data, 'utf8');
  const buf = typed('p', cstringLength(mechanism) + 4 + n);
  const off = putCstring(buf, 5, mechanism);
  buf.writeInt32BE(n, off);
  buf.write(data, off + 4, 'utf8');
  return buf;
}

/** SASLResponse (client-final-message): the body is the data, no length prefix. */
export function saslResponse(data: string): Buffer {
  const n = Buffer.byteLength(data, 'utf8');
  const buf = typed('p', n);
  buf.write(data, 5, 'utf8');
  return buf;
}

/** Query (simple query protocol). */
export function query(sql: string): Buffer {
  const buf = typed('Q', cstringLength(sql));
  putCstring(buf, 5, sql);
  return buf;
}

export function sync(): Buffer {
  return typed('S', 0);
}

/** CopyFail: ends a COPY FROM STDIN with an error (ignored by a server that is not in COPY). */
export function copyFail(reason: string): Buffer {
  const buf = typed('f', cstringLength(reason));
  putCstring(buf, 5, reason);
  return buf;
}

export function terminate(): Buffer {
  return typed('X', 0);
}
