// An append-only byte accumulator for the framers (slow path: startup, auth, admin console).
//
// Why not Buffer.concat on every push: a message that arrives in N small chunks would be copied
// N times (quadratic). Here the bytes live in one buffer with a read offset; it grows by doubling,
// so each byte is copied O(1) times amortised, and a chunk that arrives while nothing is pending
// is adopted without any copy.
//
// Views handed out by `take()` stay valid for ever: the queue never writes into memory that it has
// already handed out (it only appends past `end`, and it drops, never rewinds, a drained buffer).

const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  private buf: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** True when `buf` was allocated here (so its spare room past `end` is ours to fill). */
  private owned = false;

  /** Bytes buffered and not yet taken. */
  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.start === this.end) {
      // Nothing pending: adopt the chunk as is (the common case: one whole message per chunk).
      this.buf = chunk;
      this.start = 0;
      this.end = n;
      return;
    }
    const pending = this.end - this.start;
    // Append in place only into spare room of a buffer we allocated ourselves.
    if (this.owned && this.end + n <= this.buf.length) {
      chunk.copy(this.buf, this.end);
      this.end += n;
      return;
    }
    const grown = Buffer.allocUnsafe(Math.max(pending + n, pending * 2, 256));
    this.buf.copy(grown, 0, this.start, this.end);
    chunk.copy(grown, pending);
    this.buf = grown;
    this.owned = true;
    this.start = 0;
    this.end = pending + n;
  }

  /** Byte at offset `i` from the read position (caller checks `length`). */
  byteAt(i: number): number {
    return this.buf[this.start + i] as number;
  }

  /** Big-endian int32 at offset `i` from the read position (caller checks `length`). */
  int32At(i: number): number {
    return this.buf.readInt32BE(this.start + i);
  }

  /** A view of the next `n` bytes, not consumed (caller checks `length`). */
  peek(n: number): Buffer {
    return this.buf.subarray(this.start, this.start + n);
  }

  /** Drops the next `n` bytes (caller checks `length`). */
  skip(n: number): void {
    this.start += n;
    if (this.start === this.end) this.reset();
  }

  /** A view of the next `n` bytes, consumed (caller checks `length`). */
  take(n: number): Buffer {
    const view = this.buf.subarray(this.start, this.start + n);
    this.start += n;
    if (this.start === this.end) this.reset();
    return view;
  }

  /** Everything pending, consumed. */
  takeAll(): Buffer {
    const view = this.buf.subarray(this.start, this.end);
    this.reset();
    return view;
  }

  private reset(): void {
    // Drop the buffer rather than rewinding into it: views of it may still be in use.
    this.buf = EMPTY;
    this.owned = false;
    this.start = 0;
    this.end = 0;
  }
}
