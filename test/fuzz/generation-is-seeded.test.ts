// The fuzzer's input follows from its seed alone (so a printed seed replays a connection), and
// different seeds give different input.
import { describe, expect, it } from 'vitest';
import { Corpus } from './corpus.ts';
import { mutate, splitOffsets } from './mutate.ts';
import { Rng } from './rng.ts';

function generate(seed: string): Buffer {
  const rng = new Rng(seed);
  const corpus = new Corpus(rng);
  const out: Buffer[] = [];
  for (const state of ['idle', 'tracked', 'copy-in', 'admin'] as const) {
    const units = mutate(rng, corpus, corpus.batch(state, state === 'tracked'));
    const bytes = Buffer.concat(units.map((u) => u.bytes));
    out.push(bytes, Buffer.from(JSON.stringify(splitOffsets(rng, bytes.length))));
  }
  out.push(...corpus.startupSequence({ user: 'u', database: 'd' }).map((u) => u.bytes));
  return Buffer.concat(out);
}

describe('fuzz input generation', () => {
  it('is the same for the same seed', () => {
    for (const seed of ['a', 'run/3/17', 'f00d']) expect(generate(seed).equals(generate(seed))).toBe(true);
  });

  it('differs between seeds', () => {
    expect(generate('run/0/1').equals(generate('run/0/2'))).toBe(false);
  });

  it('draws integers in range', () => {
    const rng = new Rng('range');
    for (let i = 0; i < 10_000; i++) {
      const n = rng.range(-3, 5);
      expect(n).toBeGreaterThanOrEqual(-3);
      expect(n).toBeLessThanOrEqual(5);
    }
  });
});
