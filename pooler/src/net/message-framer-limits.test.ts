// MessageFramer rejects impossible and oversized length fields as soon as the header arrives.
import { describe, expect, it } from 'vitest';
import { MessageFramer, ProtocolError } from './framer.ts';

function header(type: string, len: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = type.charCodeAt(0);
  b.writeInt32BE(len, 1);
  return b;
}

describe('MessageFramer limits', () => {
  it.each([0, 3, -1, -2147483648])('rejects length %i', (len) => {
    const f = new MessageFramer(1000);
    f.push(header('Q', len));
    expect(() => f.next()).toThrow(ProtocolError);
  });

  it('accepts a length equal to the limit and rejects one above it, before the body arrives', () => {
    const ok = new MessageFramer(1000);
    ok.push(header('Q', 1000));
    expect(ok.next()).toBeUndefined();
    const tooBig = new MessageFramer(1000);
    tooBig.push(header('Q', 1001));
    expect(() => tooBig.next()).toThrow(/exceeds the limit of 1000/);
  });

  it('accepts an empty-bodied message (length 4)', () => {
    const f = new MessageFramer(1000);
    f.push(header('S', 4));
    expect(f.next()).toMatchObject({ type: 'S'.charCodeAt(0), body: Buffer.alloc(0) });
  });

  it('waits for a full header before judging', () => {
    const f = new MessageFramer(1000);
    f.push(header('Q', 0).subarray(0, 4));
    expect(f.next()).toBeUndefined();
  });

  it('ProtocolError carries the stable code and SQLSTATE', () => {
    const e = new ProtocolError('x');
    expect(e.code).toBe('PROTOCOL_VIOLATION');
    expect(e.sqlstate).toBe('08P01');
    expect(e).toBeInstanceOf(Error);
  });
});
