// Splits a byte stream into typed PostgreSQL v3 messages (PostgreSQL docs, "Message Formats":
// every message after the startup packet is one type byte, then an int32 length that counts itself
// but not the type byte, then length-4 bytes of body).
//
// Used on the slow paths (authentication, admin console, server start-up); the proxy's hot path
// scans headers in place instead. Bodies are zero-copy views that stay valid after later pushes.
import { ByteQueue } from './byte-queue.ts';

/** The peer broke the wire protocol; the connection must end (FATAL 08P01). */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL_VIOLATION';
  readonly sqlstate = '08P01';
  readonly fatal = true;

  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ProtocolError';
  }
}

export interface Message {
  /** The type byte, e.g. 0x51 for 'Q'. */
  type: number;
  /** The body without type and length; a view into the received bytes. */
  body: Buffer;
  /** The whole message (type, length, body), for forwarding it unchanged. */
  raw: Buffer;
}

export class MessageFramer {
  private readonly queue = new ByteQueue();
  private readonly maxMessageSize: number;

  /** @param maxMessageSize largest accepted length field (it includes its own 4 bytes). */
  constructor(maxMessageSize: number) {
    this.maxMessageSize = maxMessageSize;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /**
   * The next complete message, or undefined when more bytes are needed. Throws ProtocolError as
   * soon as a header with an impossible or oversized length is seen (without waiting for its body).
   */
  next(): Message | undefined {
    const q = this.queue;
    if (q.length < 5) return undefined;
    const len = q.int32At(1);
    if (len < 4) {
      throw new ProtocolError(`invalid message length ${len} for message type 0x${q.byteAt(0).toString(16).padStart(2, '0')}`);
    }
    if (len > this.maxMessageSize) {
      throw new ProtocolError(`message of ${len} bytes exceeds the limit of ${this.maxMessageSize} bytes`);
    }
    if (q.length < len + 1) return undefined;
    const type = q.byteAt(0);
    const whole = q.take(len + 1);
    return { type, body: whole.subarray(5), raw: whole };
  }

  /** Bytes pushed but not yet returned by next(), removed from the framer (for the fast path). */
  takeRest(): Buffer {
    return this.queue.takeAll();
  }

  /** Bytes buffered (a partial message, or whole ones not yet taken). */
  get buffered(): number {
    return this.queue.length;
  }
}
