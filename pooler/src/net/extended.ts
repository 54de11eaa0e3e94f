// Decoders and encoders for the extended-query messages whose statement names the pooler rewrites
// (protocol docs, "Message Formats": Parse, Bind, Describe, Close), plus the small replies it
// answers locally. Only names are decoded; everything after them is copied as opaque bytes.
import { BE_CLOSE_COMPLETE, BE_PARSE_COMPLETE, FE_BIND, FE_CLOSE, FE_DESCRIBE, FE_PARSE } from './codes.ts';
import { ProtocolError } from './framer.ts';

function cstringEnd(buf: Buffer, from: number): number {
  const end = buf.indexOf(0, from);
  if (end < 0) throw new ProtocolError('unterminated string in extended-query message');
  return end;
}

/** Parse: statement name, then query text, parameter count and types (kept as `rest`). */
export function decodeParse(body: Buffer): { name: string; rest: Buffer } {
  const end = cstringEnd(body, 0);
  return { name: body.toString('utf8', 0, end), rest: body.subarray(end + 1) };
}

export function encodeParse(name: string, rest: Buffer): Buffer {
  const nameLen = Buffer.byteLength(name);
  const out = Buffer.allocUnsafe(1 + 4 + nameLen + 1 + rest.length);
  out[0] = FE_PARSE;
  out.writeInt32BE(4 + nameLen + 1 + rest.length, 1);
  out.write(name, 5, 'utf8');
  out[5 + nameLen] = 0;
  rest.copy(out, 6 + nameLen);
  return out;
}

/** Bind: portal name, statement name, then parameters (kept as is). */
export function decodeBindNames(body: Buffer): { statement: string; portalEnd: number; statementEnd: number } {
  const portalEnd = cstringEnd(body, 0);
  const statementEnd = cstringEnd(body, portalEnd + 1);
  return { statement: body.toString('utf8', portalEnd + 1, statementEnd), portalEnd, statementEnd };
}

/** The same Bind with another statement name. */
export function encodeBindRenamed(body: Buffer, portalEnd: number, statementEnd: number, statement: string): Buffer {
  const nameLen = Buffer.byteLength(statement);
  const tail = body.length - statementEnd; // includes the name's NUL
  const len = 4 + portalEnd + 1 + nameLen + tail;
  const out = Buffer.allocUnsafe(1 + len);
  out[0] = FE_BIND;
  out.writeInt32BE(len, 1);
  body.copy(out, 5, 0, portalEnd + 1);
  out.write(statement, 5 + portalEnd + 1, 'utf8');
  body.copy(out, 5 + portalEnd + 1 + nameLen, statementEnd);
  return out;
}

/** Describe and Close: a kind byte ('S' statement or 'P' portal) and a name. */
export function decodeTarget(body: Buffer): { kind: number; name: string } {
  if (body.length < 2) throw new ProtocolError('Describe/Close message too short');
  const end = cstringEnd(body, 1);
  return { kind: body[0]!, name: body.toString('utf8', 1, end) };
}

export function encodeTarget(type: typeof FE_DESCRIBE | typeof FE_CLOSE, kind: number, name: string): Buffer {
  const nameLen = Buffer.byteLength(name);
  const out = Buffer.allocUnsafe(1 + 4 + 1 + nameLen + 1);
  out[0] = type;
  out.writeInt32BE(4 + 1 + nameLen + 1, 1);
  out[5] = kind;
  out.write(name, 6, 'utf8');
  out[6 + nameLen] = 0;
  return out;
}

export const PARSE_COMPLETE = Buffer.from([BE_PARSE_COMPLETE, 0, 0, 0, 4]);
export const CLOSE_COMPLETE = Buffer.from([BE_CLOSE_COMPLETE, 0, 0, 0, 4]);

/** An ErrorResponse or NoticeResponse from decoded fields, in their original order. */
export function encodeErrorFields(type: number, fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of Object.entries(fields)) parts.push(Buffer.from(code, 'latin1'), Buffer.from(value + '\0', 'utf8'));
  const body = Buffer.concat([...parts, Buffer.from([0])]);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
