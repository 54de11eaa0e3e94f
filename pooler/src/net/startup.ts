// The client's first packet(s), which carry no type byte (PostgreSQL docs, "Message Formats":
// StartupMessage, SSLRequest, GSSENCRequest, CancelRequest): int32 length including itself, int32
// code, then the payload. A client may send several in a row (SSLRequest, our 'N', then
// StartupMessage), so next() can be called repeatedly.
import { ByteQueue } from './byte-queue.ts';
import { ProtocolError } from './framer.ts';

export type StartupPacket =
  | { kind: 'startup'; majorVersion: number; minorVersion: number; params: Record<string, string> }
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number };

/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH (src/include/libpq/pqcomm.h). */
export const MAX_STARTUP_PACKET_LENGTH = 10000;
/** Codes from src/include/libpq/pqcomm.h: 1234.5678, 1234.5679, 1234.5680. */
export const CANCEL_REQUEST_CODE = 80877102;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
/** Protocol 3.0 as sent in a StartupMessage. */
export const PROTOCOL_3_0 = 196608;

/** The TLS record type of a ClientHello: a client using `sslnegotiation=direct` (PostgreSQL 17+) starts with it. */
const TLS_HANDSHAKE_RECORD = 0x16;

export class StartupFramer {
  private readonly queue = new ByteQueue();

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** The next complete packet, or undefined when more bytes are needed; throws ProtocolError. */
  next(): StartupPacket | undefined {
    const q = this.queue;
    if (q.length === 0) return undefined;
    if (q.byteAt(0) === TLS_HANDSHAKE_RECORD) {
      throw new ProtocolError('direct TLS negotiation (sslnegotiation=direct) is not supported; use sslnegotiation=postgres');
    }
    if (q.length < 4) return undefined;
    const len = q.int32At(0);
    if (len < 8 || len > MAX_STARTUP_PACKET_LENGTH) throw new ProtocolError(`invalid length of startup packet: ${len}`);
    if (q.length < len) return undefined;
    // Parse before consuming, so a malformed packet keeps failing if next() is called again.
    const packet = parseStartupPacket(q.peek(len));
    q.skip(len);
    return packet;
  }

  /** Bytes pushed but not yet returned by next(), removed from the framer. */
  takeRest(): Buffer {
    return this.queue.takeAll();
  }

  get buffered(): number {
    return this.queue.length;
  }
}

/** Parses one whole untyped packet (length field included); exported for tests and tools. */
export function parseStartupPacket(packet: Buffer): StartupPacket {
  const len = packet.length;
  const code = packet.readInt32BE(4);
  switch (code) {
    case SSL_REQUEST_CODE:
      if (len !== 8) throw new ProtocolError(`invalid length of SSL request packet: ${len}`);
      return { kind: 'ssl' };
    case GSSENC_REQUEST_CODE:
      if (len !== 8) throw new ProtocolError(`invalid length of GSSENC request packet: ${len}`);
      return { kind: 'gssenc' };
    case CANCEL_REQUEST_CODE:
      // Protocol 3.0 cancel keys are 4 bytes (3.2 made them variable; we only negotiate 3.0).
      if (len !== 16) throw new ProtocolError(`invalid length of cancel request packet: ${len}`);
      return { kind: 'cancel', processId: packet.readInt32BE(8), secretKey: packet.readInt32BE(12) };
  }
  const majorVersion = code >>> 16;
  const minorVersion = code & 0xffff;
  if (majorVersion !== 3) {
    throw new ProtocolError(
      `unsupported frontend protocol ${majorVersion}.${minorVersion}: server supports 3.0 to 3.0`,
    );
  }
  return { kind: 'startup', majorVersion, minorVersion, params: parseStartupParams(packet) };
}

/**
 * Name/value cstring pairs ending with an empty name, which must be the packet's last byte
 * (same rule as PostgreSQL's ProcessStartupPacket). A repeated name keeps the last value.
 */
function parseStartupParams(packet: Buffer): Record<string, string> {
  // A null-prototype object: a client-chosen name like "__proto__" must stay plain data.
  const params = Object.create(null) as Record<string, string>;
  const len = packet.length;
  let offset = 8;
  for (;;) {
    if (offset >= len) throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
    if (packet[offset] === 0) break;
    const nameEnd = packet.indexOf(0, offset);
    if (nameEnd === -1 || nameEnd + 1 >= len) {
      throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
    }
    const valueEnd = packet.indexOf(0, nameEnd + 1);
    if (valueEnd === -1) throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
    params[packet.toString('utf8', offset, nameEnd)] = packet.toString('utf8', nameEnd + 1, valueEnd);
    offset = valueEnd + 1;
  }
  if (offset !== len - 1) throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
  const user = params.user;
  if (user === undefined || user === '') throw new ProtocolError('no PostgreSQL user name specified in startup packet');
  // PostgreSQL: "database" defaults to the user name.
  if (params.database === undefined || params.database === '') params.database = user;
  return params;
}
