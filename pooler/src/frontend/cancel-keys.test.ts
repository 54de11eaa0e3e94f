import { describe, expect, it } from 'vitest';
import { CancelKeys, nodeOf } from './cancel-keys.ts';

describe('cancel keys', () => {
  it('encode the issuing node in the process id', () => {
    for (const node of [0, 1, 2, 513, 1023]) {
      const { processId, secretKey } = new CancelKeys(node).next(() => false);
      expect(nodeOf(processId)).toBe(node);
      expect(processId).toBeGreaterThan(0);
      expect(processId).toBeLessThanOrEqual(0x7fffffff);
      expect(secretKey).toBeGreaterThanOrEqual(0);
    }
  });

  it('skips process ids still in use', () => {
    const keys = new CancelKeys(3);
    const first = keys.next(() => false).processId;
    const used = new Set([first + 1, first + 2]);
    const next = keys.next((p) => used.has(p)).processId;
    expect(next).toBe(first + 3);
  });

  it('rejects node ids out of range', () => {
    expect(() => new CancelKeys(1024)).toThrow(RangeError);
    expect(() => new CancelKeys(-1)).toThrow(RangeError);
  });
});
