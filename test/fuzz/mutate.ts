// Mutations of valid message sequences (corpus.ts): bit flips, interesting bytes, length fields
// set to boundary values (0, 3, 4, off by one, 64 KiB and 10,000 around the pooler's start-up
// limits, 256 MiB around max_message_size, 2^31-1, negative), truncation, a body grown with
// garbage under a fixed-up length, interesting 16/32-bit integers written into bodies (counts,
// formats, parameter lengths), C strings left unterminated, changed type bytes, duplicated,
// dropped and swapped messages, messages from another state interleaved, random messages and
// random bytes. Each unit out is one input; the caller also splits the bytes at random offsets.
import type { Corpus, Unit } from './corpus.ts';
import type { Rng } from './rng.ts';

const MIB = 1024 * 1024;
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x3b, 0x27, 0x22, 0x5c, 0x0a];
const INTERESTING_16 = [0, 1, -1, 2, 0x7fff, -0x8000, 0x100, 0x3fff];
const INTERESTING_32 = [0, 1, -1, 2, 4, 0x7fffffff, -0x80000000, 0x10000, 10_000, 256 * MIB];

/** Values for a length field, relative to the unit's real length `len`. */
function interestingLength(rng: Rng, len: number): number {
  return rng.pick([
    0,
    1,
    3,
    4,
    5,
    7,
    8,
    9,
    len - 1,
    len + 1,
    len + rng.range(2, 64),
    len * 2,
    9_999,
    10_000,
    10_001,
    64 * 1024,
    64 * 1024 + 1,
    256 * MIB,
    256 * MIB + 1,
    rng.range(100_000, 200 * MIB),
    0x7fffffff,
    -1,
    -0x80000000,
    rng.u32() | 0,
  ]);
}

function lengthOffset(unit: Unit): number {
  return unit.untyped ? 0 : 1;
}

/** Mutates one unit in place (a copy of it); returns the new unit, or null to drop it. */
function mutateUnit(rng: Rng, unit: Unit): Unit | null {
  const b = Buffer.from(unit.bytes);
  if (b.length === 0) return unit;
  const lo = lengthOffset(unit);
  const bodyStart = lo + 4;
  switch (rng.int(10)) {
    case 0: {
      const flips = rng.range(1, 8);
      for (let i = 0; i < flips; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return { ...unit, bytes: b };
    }
    case 1: {
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) b[rng.int(b.length)] = rng.chance(0.8) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
      return { ...unit, bytes: b };
    }
    case 2:
      if (b.length >= lo + 4) b.writeInt32BE(interestingLength(rng, b.length - lo) | 0, lo);
      return { ...unit, bytes: b };
    case 3:
      return { ...unit, bytes: b.subarray(0, rng.int(b.length)) };
    case 4: {
      const extra = rng.bytes(rng.size(2048));
      const grown = Buffer.concat([b, extra]);
      if (grown.length >= lo + 4) grown.writeInt32BE(grown.length - lo, lo);
      return { ...unit, bytes: grown };
    }
    case 5: {
      if (b.length <= bodyStart + 2) return { ...unit, bytes: b };
      const at = rng.range(bodyStart, b.length - 2);
      if (rng.chance(0.5) || at + 4 > b.length) b.writeInt16BE(rng.pick(INTERESTING_16), at);
      else b.writeInt32BE(rng.pick(INTERESTING_32) | 0, at);
      return { ...unit, bytes: b };
    }
    case 6: {
      // Unterminated or extra C strings.
      const nul = b.indexOf(0, bodyStart);
      if (nul >= 0 && rng.chance(0.6)) b[nul] = 0x41;
      else if (b.length > bodyStart) b[rng.range(bodyStart, b.length - 1)] = 0;
      return { ...unit, bytes: b };
    }
    case 7:
      if (!unit.untyped) b[0] = rng.chance(0.5) ? rng.int(256) : rng.pick([...'PBDECSHFQXdcfp'].map((c) => c.charCodeAt(0)));
      return { ...unit, bytes: b };
    case 8:
      return null;
    default: {
      // A huge declared length with only the start of the body: the stream goes on inside it.
      if (b.length >= lo + 4) b.writeInt32BE(rng.range(b.length, rng.chance(0.5) ? 300 * MIB : 2 * MIB), lo);
      return { ...unit, bytes: b.subarray(0, Math.min(b.length, lo + 4 + rng.size(64))) };
    }
  }
}

/**
 * Applies `rng.size(max)` list-level mutations to `units` (not modified) and returns the mutated
 * list. `corpus` supplies units from other states (interleaving) and random ones.
 */
export function mutate(rng: Rng, corpus: Corpus, units: readonly Unit[], max = 6): Unit[] {
  let out = [...units];
  const n = rng.size(max) + 1;
  for (let k = 0; k < n; k++) {
    const i = rng.int(out.length);
    switch (rng.weighted<number>([
      [0, 10], // mutate one message
      [1, 1.5], // duplicate, sometimes many times
      [2, 1], // swap two
      [3, 2], // interleave messages of another state
      [4, 1], // a random well-framed message
      [5, 0.7], // random bytes
      [6, 0.5], // drop a tail
    ])) {
      case 0: {
        if (out.length === 0) break;
        const m = mutateUnit(rng, out[i]!);
        if (m === null) out.splice(i, 1);
        else out[i] = m;
        break;
      }
      case 1: {
        if (out.length === 0) break;
        const times = rng.chance(0.8) ? 1 : rng.size(200);
        out.splice(i, 0, ...Array.from({ length: times }, () => out[i]!));
        break;
      }
      case 2: {
        const j = rng.int(out.length);
        if (out.length > 1) [out[i], out[j]] = [out[j]!, out[i]!];
        break;
      }
      case 3: {
        const other = corpus.foreign();
        // Interleave: the other sequence's messages spread among ours, order kept on both sides.
        const merged: Unit[] = [];
        let a = 0;
        let b = 0;
        while (a < out.length || b < other.length) {
          if (b >= other.length || (a < out.length && rng.chance(0.6))) merged.push(out[a++]!);
          else merged.push(other[b++]!);
        }
        out = merged;
        break;
      }
      case 4:
        out.splice(i, 0, corpus.randomTyped());
        break;
      case 5:
        out.splice(i, 0, corpus.random());
        break;
      default:
        out = out.slice(0, i);
        break;
    }
  }
  return out;
}

/**
 * Where to cut `length` bytes into separate writes: none most often, else a few random offsets
 * (inside headers too), so the pooler sees messages split across reads.
 */
export function splitOffsets(rng: Rng, length: number): number[] {
  if (length < 2 || rng.chance(0.45)) return [];
  const cuts = new Set<number>();
  const n = rng.size(8) + 1;
  for (let i = 0; i < n; i++) cuts.add(rng.range(1, length - 1));
  return [...cuts].sort((a, b) => a - b);
}
