// One server message that a TCP read split, put back together so it can still be inspected.
//
// The fast path forwards server bytes chunk by chunk and looks into a few messages only
// (frontend/reply-inspector.ts: CommandComplete SET/RESET/DISCARD/DEALLOCATE/LISTEN,
// ParameterStatus, ErrorResponse). A message that straddles two reads — behind a large result, a
// chunk boundary can fall anywhere — used to pass uninspected: a `SET` whose CommandComplete was
// split did not mark the server connection dirty, so the setting could outlive the transaction and
// reach the next client of that connection. Its bytes are forwarded as always; a copy of this one
// message (they are small: bounded by MAX_CAPTURE) is completed from the next read(s) and
// inspected before anything after it, so the state it changes is right when the following
// ReadyForQuery releases the connection. What cannot be done late is rewriting the message, whose
// bytes have already gone to the client (see ReplyInspector.inspectLate).

/** Larger split messages are passed uninspected (an ErrorResponse with a huge detail, say). */
export const MAX_CAPTURE = 64 * 1024;

export class SplitCapture {
  readonly type: number;
  readonly first: number;
  /** The whole message: type byte, Int32 length, body. */
  readonly bytes: Buffer;
  #filled: number;

  private constructor(type: number, first: number, bytes: Buffer, filled: number) {
    this.type = type;
    this.first = first;
    this.bytes = bytes;
    this.#filled = filled;
  }

  /**
   * Starts a capture of the message the scanner reported at `start` (negative when its header was
   * in an earlier chunk) with length field `length`, of which `chunk` holds the body from
   * `start + 5` on (the scanner reports a message once its first body byte is in the chunk).
   * Null when it is too large to capture. Check `complete` before waiting for more.
   */
  static begin(type: number, first: number, start: number, length: number, chunk: Buffer): SplitCapture | null {
    if (length > MAX_CAPTURE) return null;
    const bytes = Buffer.allocUnsafe(1 + length);
    bytes[0] = type;
    bytes.writeInt32BE(length, 1);
    const from = start + 5;
    const to = Math.min(chunk.length, start + 1 + length);
    const copied = to > from ? chunk.copy(bytes, 5, from, to) : 0;
    return new SplitCapture(type, first, bytes, 5 + copied);
  }

  /** Copies the message's next bytes from the start of `chunk`; true once it is complete. */
  feed(chunk: Buffer): boolean {
    const need = this.bytes.length - this.#filled;
    const take = need < chunk.length ? need : chunk.length;
    chunk.copy(this.bytes, this.#filled, 0, take);
    this.#filled += take;
    return this.#filled === this.bytes.length;
  }

  /** Bytes still missing: what the next chunk gives it before its own messages begin. */
  get missing(): number {
    return this.bytes.length - this.#filled;
  }

  /**
   * Whole already: a message whose header began in the previous chunk but whose body is all in
   * this one is complete as soon as it is begun.
   */
  get complete(): boolean {
    return this.#filled === this.bytes.length;
  }
}
