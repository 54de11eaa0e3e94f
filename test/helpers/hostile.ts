// Hostile-client harness for the adversarial memory tests (test/adversarial/*-bounded-memory):
// a client that writes as fast as the pooler takes its bytes and never reads a reply, the pooler
// child process's resident set size sampled meanwhile, and a well-behaved client of another
// tenant that keeps being served (or not) throughout.
import type { Socket } from 'node:net';
import type { PoolerProcess } from './raw-protocol.ts';

export const MiB = 1024 * 1024;

export interface FloodResult {
  /** Bytes the kernel accepted from the hostile client. */
  sent: number;
  /** True when a write waited `stallMs` without being accepted: the pooler stopped reading. */
  stalled: boolean;
}

/**
 * Stops the client from reading (its receive window fills, so the pooler's replies back up) and
 * writes `chunk` again and again, each write only once the previous one reached the kernel, until
 * `maxBytes` were sent, a write waits `stallMs` (the pooler stopped reading: backpressure) or
 * `deadlineMs` passed. Memory on the test side stays one chunk.
 */
export async function floodWithoutReading(
  socket: Socket,
  chunk: Buffer,
  opts: { maxBytes: number; stallMs: number; deadlineMs: number },
): Promise<FloodResult> {
  socket.pause();
  const deadline = Date.now() + opts.deadlineMs;
  let sent = 0;
  while (sent < opts.maxBytes && Date.now() < deadline && !socket.destroyed) {
    const accepted = await new Promise<boolean>((res) => {
      const timer = setTimeout(() => res(false), opts.stallMs);
      socket.write(chunk, (err) => {
        clearTimeout(timer);
        res(err == null);
      });
    });
    if (!accepted) return { sent, stalled: true };
    sent += chunk.length;
  }
  return { sent, stalled: false };
}

/** `unit` repeated to about `bytes` (whole units): one flood chunk. */
export function repeatTo(unit: Buffer, bytes: number): Buffer {
  return Buffer.concat(Array.from({ length: Math.max(1, Math.floor(bytes / unit.length)) }, () => unit));
}

export interface RssSample {
  baselineKb: number;
  maxKb: number;
  samples: number;
}

/** Samples the pooler's RSS every 50 ms from now until stop(); the first sample is the baseline. */
export function sampleRss(p: PoolerProcess): { stop: () => RssSample } {
  const baselineKb = p.rssKb();
  let maxKb = baselineKb;
  let samples = 1;
  const timer = setInterval(() => {
    const kb = p.rssKb();
    if (Number.isFinite(kb)) maxKb = Math.max(maxKb, kb);
    samples++;
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      const kb = p.rssKb();
      if (Number.isFinite(kb)) maxKb = Math.max(maxKb, kb);
      return { baselineKb, maxKb, samples: samples + 1 };
    },
  };
}

export interface ServedResult {
  /** Requests answered while the loop ran. */
  served: number;
  /** The slowest answer (ms). */
  maxMs: number;
  /** The first failure, if any. */
  error: unknown;
}

/**
 * Runs `request` back to back (pausing `gapMs` between) until stop() is called, recording how
 * many were answered and the slowest answer: the well-behaved tenant's view of the attack.
 */
export function serveThroughout(request: () => Promise<void>, gapMs = 100): { stop: () => Promise<ServedResult> } {
  let running = true;
  const result: ServedResult = { served: 0, maxMs: 0, error: undefined };
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        await request();
      } catch (err) {
        result.error = err;
        return;
      }
      result.maxMs = Math.max(result.maxMs, performance.now() - t0);
      result.served++;
      if (running) await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

/** One line for the test log: what the attack sent and what the pooler's memory did. */
export function describeAttack(what: string, flood: FloodResult, rss: RssSample, served: ServedResult): string {
  return (
    `${what}: sent ${(flood.sent / MiB).toFixed(0)} MiB (${flood.stalled ? 'then the pooler stopped reading' : 'never stopped'}), ` +
    `pooler RSS ${(rss.baselineKb / 1024).toFixed(0)} → max ${(rss.maxKb / 1024).toFixed(0)} MiB (+${((rss.maxKb - rss.baselineKb) / 1024).toFixed(0)}, ${rss.samples} samples); ` +
    `other tenant: ${served.served} requests served, slowest ${served.maxMs.toFixed(0)} ms`
  );
}
