import { describe, expect, it } from 'vitest';
import { ScanError, Scanner, type ScanSink } from './scanner.ts';

function message(type: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.alloc(5 + b.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

const stream = Buffer.concat([
  message('Q', 'select 1\0'),
  message('S', ''),
  message('Z', 'I'),
  message('P', '\0select $1\0\0\0'),
  message('P', 'named\0select 1\0\0\0'),
  message('X', ''),
  message('D', Buffer.alloc(300, 7)),
  message('Z', 'T'),
]);
const expected = [
  ['Q', 's'.charCodeAt(0)],
  ['S', -1],
  ['Z', 'I'.charCodeAt(0)],
  ['P', 0],
  ['P', 'n'.charCodeAt(0)],
  ['X', -1],
  ['D', 7],
  ['Z', 'T'.charCodeAt(0)],
];

function collect(chunks: Buffer[]): { seen: Array<[string, number]>; scanner: Scanner } {
  const scanner = new Scanner(1 << 20);
  const seen: Array<[string, number]> = [];
  for (const chunk of chunks) {
    const sink: ScanSink = {
      onMessage(type, first, start) {
        seen.push([String.fromCharCode(type), first]);
        // A message that starts in this chunk starts with its type byte.
        if (start >= 0) expect(chunk[start]).toBe(type);
      },
    };
    expect(scanner.scan(chunk, sink)).toBe(chunk.length);
  }
  return { seen, scanner };
}

describe('Scanner splits', () => {
  it('sees every message once with its first body byte, split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { seen, scanner } = collect([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(seen, `cut at ${cut}`).toEqual(expected);
      expect(scanner.atBoundary()).toBe(true);
    }
  });

  it('works byte by byte and reports mid-message positions', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    const { seen } = collect(chunks);
    expect(seen).toEqual(expected);
    const scanner = new Scanner(1 << 20);
    scanner.scan(stream.subarray(0, 3), { onMessage() {} });
    expect(scanner.atBoundary()).toBe(false);
  });

  it('reports negative start offsets for headers split across chunks', () => {
    const m = message('Q', 'x\0');
    const scanner = new Scanner(1024);
    const starts: number[] = [];
    scanner.scan(m.subarray(0, 2), { onMessage: (_t, _f, s) => void starts.push(s) });
    scanner.scan(m.subarray(2), { onMessage: (_t, _f, s) => void starts.push(s) });
    expect(starts).toEqual([-2]);
  });

  it('stops where the sink asks', () => {
    const scanner = new Scanner(1024);
    const at = scanner.scan(stream, { onMessage: (t) => t === 'X'.charCodeAt(0) });
    const xStart = stream.indexOf(message('X', ''));
    expect(at).toBe(xStart + 5);
  });
});

describe('Scanner limits', () => {
  it('rejects a length below 4', () => {
    const bad = Buffer.from([0x51, 0, 0, 0, 2]);
    expect(() => new Scanner(1024).scan(bad, { onMessage() {} })).toThrow(ScanError);
  });
  it('rejects a length above the limit', () => {
    const bad = Buffer.from([0x51, 0, 0, 0x10, 0]);
    expect(() => new Scanner(1024).scan(bad, { onMessage() {} })).toThrow(/exceeds the limit/);
  });
  it('rejects a negative length', () => {
    const bad = Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]);
    expect(() => new Scanner(1024).scan(bad, { onMessage() {} })).toThrow(ScanError);
  });
});
