// The hot path's view of a byte stream: message boundaries only. The proxy forwards whole chunks as
// they arrive and looks at just the headers it must (docs/architecture.md, "Performance facts"): the type
// byte, the length, and the first body byte (ReadyForQuery's transaction status, or whether a Parse
// names its statement). Bodies are skipped without copying; nothing is allocated per message.
//
// Framing per the protocol docs, "Message Formats": Byte1 type, Int32 length counting itself, body.

export interface ScanSink {
  /**
   * Called once per message, when its type and first body byte are known.
   * `first` is the first body byte, or -1 for an empty body.
   * `start` is the message's offset in the current chunk (negative when its header began in an
   * earlier chunk). `length` is the length field (body + 4). Returning true stops the scan of this
   * chunk right after the header; the caller then abandons or re-frames the stream.
   */
  onMessage(type: number, first: number, start: number, length: number): boolean | void;
}

export class ScanError extends Error {
  readonly code = 'PROTOCOL_VIOLATION';
  readonly sqlstate = '08P01';
}

export class Scanner {
  /** Body bytes of the current message still to skip. */
  private remaining = 0;
  /** Type of the current message while we wait for its first body byte (-1 = not waiting). */
  private pendingType = -1;
  private pendingStart = 0;
  private pendingLength = 0;
  /**
   * A header split across chunks, kept as numbers rather than in a 5-byte Buffer: a small Buffer
   * per scanner (one per client and per server connection) would pin an 8 KiB slab of Node's
   * Buffer pool shared with short-lived allocations, ~0.7 KiB per idle client.
   */
  private headerType = 0;
  private headerLength = 0;
  private headerLen = 0;
  private readonly maxLength: number;

  constructor(maxLength: number) {
    this.maxLength = maxLength;
  }

  /** True between messages: no partial header, no unread body. */
  atBoundary(): boolean {
    return this.remaining === 0 && this.headerLen === 0 && this.pendingType === -1;
  }

  /** Body bytes of a message already begun that the next chunk starts with (0 at a boundary). */
  bodyRemaining(): number {
    return this.remaining;
  }

  /**
   * Bytes at the end of the last chunk that belong to a message whose header (and first body
   * byte) is not complete yet. A proxy that may still intercept that message holds them back.
   */
  heldBytes(): number {
    if (this.headerLen > 0) return this.headerLen;
    return this.pendingType !== -1 ? -this.pendingStart : 0;
  }

  /**
   * Scans `chunk`; returns the offset where scanning stopped (chunk.length unless the sink asked to
   * stop). Throws ScanError for a length below 4 or above the limit.
   */
  scan(chunk: Buffer, sink: ScanSink): number {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        if (this.pendingType !== -1) {
          const type = this.pendingType;
          this.pendingType = -1;
          // The sink may stop the scan after seeing the header; the body stays unscanned.
          if (sink.onMessage(type, chunk[i]!, this.pendingStart, this.pendingLength) === true) return i;
        }
        const take = this.remaining < n - i ? this.remaining : n - i;
        i += take;
        this.remaining -= take;
        continue;
      }
      let type: number;
      let length: number;
      let start: number;
      if (this.headerLen === 0 && n - i >= 5) {
        type = chunk[i]!;
        length = chunk.readInt32BE(i + 1);
        start = i;
        i += 5;
      } else {
        start = i - this.headerLen;
        while (this.headerLen < 5 && i < n) {
          const b = chunk[i++]!;
          if (this.headerLen++ === 0) this.headerType = b;
          // Big-endian Int32, as readInt32BE: the `| 0` keeps the sign of a length above 2^31.
          else this.headerLength = ((this.headerLength << 8) | b) | 0;
        }
        if (this.headerLen < 5) return n;
        this.headerLen = 0;
        type = this.headerType;
        length = this.headerLength;
        this.headerLength = 0;
      }
      if (length < 4 || length > this.maxLength) {
        throw new ScanError(
          length < 4
            ? // The type in hex, as framer.ts does: a NUL (or any byte) must not reach the error text.
              `invalid message length ${length} for message type 0x${type.toString(16).padStart(2, '0')}`
            : `message of ${length} bytes exceeds the limit of ${this.maxLength} bytes`,
        );
      }
      this.remaining = length - 4;
      if (this.remaining === 0) {
        if (sink.onMessage(type, -1, start, length) === true) return i;
      } else if (i < n) {
        if (sink.onMessage(type, chunk[i]!, start, length) === true) return i;
      } else {
        this.pendingType = type;
        this.pendingLength = length;
        // Relative to the next chunk, the message started this many bytes before it.
        this.pendingStart = start - n;
      }
    }
    return n;
  }
}
