// SplitCapture puts back together the inspected server messages a read split, whatever the split:
// a server stream (rows, then CommandComplete SET, ParameterStatus, ErrorResponse, ReadyForQuery)
// is cut into two and three chunks at every offset and scanned as the fast path does; every
// CommandComplete/ParameterStatus/ErrorResponse comes out whole and byte-identical, once, in
// stream order, and a message larger than the cap is not captured.
import { describe, expect, it } from 'vitest';
import * as msg from '../net/messages.ts';
import { Scanner } from '../net/scanner.ts';
import { MAX_CAPTURE, SplitCapture } from './split-capture.ts';

const CC = 0x43;
const E = 0x45;
const S = 0x53;
const inspected = (type: number): boolean => type === CC || type === E || type === S;

const stream = [
  msg.rowDescription([{ name: 'x', typeOid: 25 }]),
  msg.dataRow(['a'.repeat(300)]),
  msg.commandComplete('SELECT 1'),
  msg.commandComplete('SET'),
  msg.parameterStatus('TimeZone', 'Europe/Paris'),
  msg.errorResponse({ severity: 'ERROR', code: '25006', message: 'cannot execute INSERT in a read-only transaction' }),
  msg.readyForQuery('I'),
];
const whole = Buffer.concat(stream);
const expected = stream.filter((m) => inspected(m[0]!)).map((m) => m.toString('hex'));

/** Scans `chunks` as ClientConnection's fast path does and returns the inspected messages, whole. */
function inspectedMessages(chunks: Buffer[]): string[] {
  const scanner = new Scanner(1 << 20);
  const seen: string[] = [];
  let split = null as SplitCapture | null;
  for (const chunk of chunks) {
    if (split !== null && split.feed(chunk)) {
      seen.push(split.bytes.toString('hex'));
      split = null;
    }
    scanner.scan(chunk, {
      onMessage(type, first, start, length) {
        if (!inspected(type)) return;
        if (start >= 0 && start + 1 + length <= chunk.length) seen.push(chunk.subarray(start, start + 1 + length).toString('hex'));
        else {
          const c = SplitCapture.begin(type, first, start, length, chunk);
          if (c?.complete) seen.push(c.bytes.toString('hex'));
          else split = c;
        }
      },
    });
  }
  return seen;
}

describe('SplitCapture', () => {
  it('reassembles every inspected message split into two chunks at any offset', () => {
    for (let i = 1; i < whole.length; i++) {
      expect(inspectedMessages([whole.subarray(0, i), whole.subarray(i)]), `split at ${i}`).toEqual(expected);
    }
  });

  it('reassembles across three chunks at any pair of offsets (a message spread over three reads)', () => {
    // Around the inspected messages only: the rows before them add nothing new.
    const from = stream[0]!.length + stream[1]!.length;
    for (let i = from; i < whole.length - 1; i++) {
      for (let j = i + 1; j < whole.length; j++) {
        expect(inspectedMessages([whole.subarray(0, i), whole.subarray(i, j), whole.subarray(j)]), `split at ${i} and ${j}`).toEqual(expected);
      }
    }
  });

  it('does not capture a message over the cap', () => {
    const big = msg.errorResponse({ severity: 'ERROR', code: 'XX000', message: 'x'.repeat(MAX_CAPTURE) });
    expect(SplitCapture.begin(E, big[5]!, 0, big.readInt32BE(1), big.subarray(0, 100))).toBeNull();
  });
});
