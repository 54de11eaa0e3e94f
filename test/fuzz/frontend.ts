// Frontend messages the fuzzer starts from (PostgreSQL docs, "Frontend/Backend Protocol" →
// "Message Formats"), beyond the ones test/helpers/raw-protocol.ts already builds: the start-up
// family with any protocol code, GSSENCRequest, FunctionCall, Bind with binary parameters and
// result formats. Also a frame scanner that tells how the pooler will split a byte stream.
import { bind, close, copyData, copyDone, copyFail, describe, execute, flush, message, parse, query, sync, terminate } from '../helpers/raw-protocol.ts';
import * as wire from '../../pooler/src/net/messages.ts';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_3_0, SSL_REQUEST_CODE } from '../../pooler/src/net/startup.ts';

export { bind, close, copyData, copyDone, copyFail, describe, execute, flush, message, parse, query, sync, terminate };

export function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
}

export function cstr(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

/** An untyped start-up packet: Int32 length (counting itself), Int32 code, payload. */
export function startupPacket(code: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([int32(payload.length + 8), int32(code), payload]);
}

/** StartupMessage with name/value pairs in the given order (repeats allowed) and any protocol code. */
export function startupWith(pairs: readonly (readonly [string, string])[], code = PROTOCOL_3_0): Buffer {
  return startupPacket(code, Buffer.concat([...pairs.flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]));
}

export const sslRequest = (): Buffer => startupPacket(SSL_REQUEST_CODE);
export const gssencRequest = (): Buffer => startupPacket(GSSENC_REQUEST_CODE);
export const cancelRequest = (processId: number, secretKey: number): Buffer => startupPacket(CANCEL_REQUEST_CODE, Buffer.concat([int32(processId), int32(secretKey)]));

export const passwordMessage = wire.passwordMessage;
export const saslInitialResponse = wire.saslInitialResponse;
export const saslResponse = wire.saslResponse;

/** Bind with explicit parameter formats (0 text, 1 binary) and result formats. */
export function bindFormats(portal: string, statement: string, params: { format: number; value: Buffer | null }[], resultFormats: number[]): Buffer {
  return message(
    'B',
    cstr(portal),
    cstr(statement),
    int16(params.length),
    ...params.map((p) => int16(p.format)),
    int16(params.length),
    ...params.flatMap((p) => (p.value === null ? [int32(-1)] : [int32(p.value.length), p.value])),
    int16(resultFormats.length),
    ...resultFormats.map(int16),
  );
}

/** FunctionCall (the legacy fast-path interface): function OID, text arguments, text result. */
export function functionCall(oid: number, args: (string | null)[]): Buffer {
  return message(
    'F',
    int32(oid),
    int16(1),
    int16(0),
    int16(args.length),
    ...args.flatMap((a) => (a === null ? [int32(-1)] : [int32(Buffer.byteLength(a)), Buffer.from(a, 'utf8')])),
    int16(0),
  );
}

/** A typed message with an arbitrary type byte and body. */
export function typed(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}

export interface FrameScan {
  /** ReadyForQuery messages a server owes for the whole typed messages found: one per Query, Sync, FunctionCall. */
  readyOwed: number;
  /** The stream ends exactly at a message boundary (false: a partial message, or a length no server accepts). */
  clean: boolean;
  /** The type bytes of the whole messages found, in order. */
  types: number[];
  /** Bytes after the last whole message (a partial one); `-1` once the framing is broken. */
  rest: number;
}

/**
 * Splits `bytes` into typed messages the way the pooler does (type byte, Int32 length counting
 * itself): what a server will answer for it, if the framing holds.
 */
export function scanFrames(bytes: Buffer, maxLength: number): FrameScan {
  const types: number[] = [];
  let readyOwed = 0;
  let off = 0;
  while (off + 5 <= bytes.length) {
    const len = bytes.readInt32BE(off + 1);
    if (len < 4 || len > maxLength) return { readyOwed, clean: false, types, rest: -1 };
    if (off + 1 + len > bytes.length) break;
    const t = bytes[off]!;
    types.push(t);
    if (t === 0x51 || t === 0x53 || t === 0x46) readyOwed++;
    off += 1 + len;
  }
  return { readyOwed, clean: off === bytes.length, types, rest: bytes.length - off };
}
