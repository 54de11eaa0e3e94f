// Hostile-client harness for the adversarial memory tests (test/adversarial/*-bounded-memory):
// a client that writes as fast as the pooler takes its bytes and never reads a reply, the pooler
// child process's resident set size sampled meanwhile, and a well-behaved client of another
// tenant that keeps being served (or not) throughout.
import type { Socket } from 'node:net';
import { expect } from 'vitest';
import { until } from './clients.ts';
import type { PoolerProcess } from './raw-protocol.ts';

export const MiB = 1024 * 1024;

/**
 * What the pooler may keep for one hostile client after a full garbage collection (heapUsed +
 * external): it stops reading a client past 1 MiB of unread replies or held input, or 16,384
 * outstanding tracked requests (net/backpressure.ts), so a few MiB. Measured with the backpressure:
 * +0.7 to +4 MiB across the adversarial floods; without it (client-flow.ts afterPooledInput
 * disabled, 30 s floods): tracked Parse/Close +32 to +163 MiB (as fast as the machine lets the
 * pooler read), tracked Closes behind an unread result +1.7 to +3.2 GiB, lost-transaction 25P02
 * +1.3 GiB, each growing for as long as the attack lasts.
 */
export const RETAINED_BOUND_KB = 8 * 1024;

/**
 * The peak RSS growth: a coarse bound on what the heap accounting above cannot see. It cannot be
 * tight: short-lived objects (~3 MiB per 64 KiB read of tracked Parse/Close) outlive a young
 * generation V8 has shrunk (as it does after a full collection), are promoted, and the old
 * generation grows to several times the live heap before the next full collection; RSS keeps that
 * peak. Measured on the tracked Parse/Close flood: +23 MiB when the flood starts with the young
 * generation grown, +117 to +166 MiB when it starts right after a full collection (+133 MiB in a
 * loaded CI run), while what the pooler retained grew by 1.5 MiB each time. Without the backpressure
 * floods whose replies pile up grow RSS by gigabytes; the Parse/Close flood's (+161 to +326 MiB in
 * 30 s, with the machine's speed) is caught by RETAINED_BOUND_KB and the stall, not always by this.
 */
export const RSS_BOUND_KB = 256 * 1024;

/** The two memory bounds of an attack (RETAINED_BOUND_KB, RSS_BOUND_KB). */
export function expectBoundedMemory(mem: MemorySample): void {
  const retained = mem.retainedKb - mem.retainedBaselineKb;
  expect(retained, `the pooler retains ${(retained / 1024).toFixed(1)} MiB more after a full GC`).toBeLessThan(RETAINED_BOUND_KB);
  expect(mem.maxKb - mem.baselineKb, `pooler RSS grew by ${(mem.maxKb - mem.baselineKb) >> 10} MiB`).toBeLessThan(RSS_BOUND_KB);
}

export interface FloodResult {
  /** Bytes the kernel accepted from the hostile client. */
  sent: number;
  /** True when a write waited `stallMs` without being accepted (while another tenant was served): the pooler stopped reading. */
  stalled: boolean;
}

/**
 * Stops the client from reading (its receive window fills, so the pooler's replies back up) and
 * writes `chunk` again and again, each write only once the previous one reached the kernel, until
 * `maxBytes` were sent, a write waits `stallMs` (the pooler stopped reading: backpressure) or
 * `deadlineMs` passed. Memory on the test side stays one chunk. With `served` (serveThroughout), a
 * wait counts as a stall only once another tenant's request sent after the write began was
 * answered meanwhile: a pooler too starved (a loaded machine) or too busy collecting garbage to read
 * anyone is not a pooler that stopped reading this client, and a test must not pass on it.
 */
export async function floodWithoutReading(
  socket: Socket,
  chunk: Buffer,
  opts: { maxBytes: number; stallMs: number; deadlineMs: number; served?: Serving },
): Promise<FloodResult> {
  socket.pause();
  const deadline = Date.now() + opts.deadlineMs;
  const served = opts.served;
  let sent = 0;
  while (sent < opts.maxBytes && Date.now() < deadline && !socket.destroyed) {
    const began = performance.now();
    const stalled = (): boolean => served === undefined || served.answeredSince(began);
    const accepted = await new Promise<boolean>((res) => {
      let timer = setTimeout(function check() {
        if (stalled() || Date.now() >= deadline) res(false);
        else timer = setTimeout(check, 100);
      }, opts.stallMs);
      socket.write(chunk, (err) => {
        clearTimeout(timer);
        res(err == null);
      });
    });
    if (!accepted) return { sent, stalled: stalled() };
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

/** Memory of the pooler during an attack: its peak RSS, and what it retains after a full collection. */
export interface MemorySample extends RssSample {
  /** heapUsed + external (Buffers included) after a full garbage collection, before the attack (KiB). */
  retainedBaselineKb: number;
  /** The same at the end of the attack, while the attacker is still connected (KiB). */
  retainedKb: number;
}

const probeAnswers = new WeakMap<PoolerProcess, number>();

/**
 * What the pooler holds after a full garbage collection (heapUsed + external, KiB): asks its memory
 * probe (pooler-memory-probe.ts; startPoolerProcess with `memoryProbe: true`) by SIGUSR2 and reads
 * the answer from its output. Unlike the peak RSS this leaves out garbage not yet collected, whose
 * amount depends on the garbage collector's timing, not on what the pooler keeps.
 */
export async function retainedKb(p: PoolerProcess): Promise<number> {
  if (!p.memoryProbe) throw new Error('retainedKb: start the pooler with startPoolerProcess(…, { memoryProbe: true })');
  const seq = (probeAnswers.get(p) ?? 0) + 1;
  probeAnswers.set(p, seq);
  const answer = new RegExp(`SWITCHYARD_TEST_MEMORY ${seq} (\\{[^\\n]*\\})`);
  p.child.kill('SIGUSR2');
  let m: RegExpExecArray | null = null;
  await until(() => (m = answer.exec(p.output())) !== null, 30_000, "the pooler's memory probe to answer");
  const usage = JSON.parse(m![1]!) as { heapUsed: number; external: number };
  return Math.round((usage.heapUsed + usage.external) / 1024);
}

/**
 * From now until stop(): the pooler's peak RSS (sampleRss), and what it retains after a full
 * collection now and at stop(). Both matter: the retained memory is what the pooler's bounds are
 * about (the unread replies, the held input), measured exactly; the RSS catches what the heap does not.
 */
export async function measureMemory(p: PoolerProcess): Promise<{ stop: () => Promise<MemorySample> }> {
  const retainedBaselineKb = await retainedKb(p);
  const rss = sampleRss(p);
  return {
    stop: async () => {
      const peak = rss.stop();
      return { ...peak, retainedBaselineKb, retainedKb: await retainedKb(p) };
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

/** The well-behaved tenant's requests while they run (serveThroughout). */
export interface Serving {
  /** Whether a request sent at or after `t` (performance.now()) has been answered. */
  answeredSince(t: number): boolean;
  stop(): Promise<ServedResult>;
}

/**
 * Runs `request` back to back (pausing `gapMs` between) until stop() is called, recording how
 * many were answered and the slowest answer: the well-behaved tenant's view of the attack.
 */
export function serveThroughout(request: () => Promise<void>, gapMs = 100): Serving {
  let running = true;
  let lastAnsweredStart = Number.NEGATIVE_INFINITY;
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
      lastAnsweredStart = t0;
      result.maxMs = Math.max(result.maxMs, performance.now() - t0);
      result.served++;
      if (running) await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    answeredSince: (t) => lastAnsweredStart >= t,
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

/** One line for the test log: what the attack sent and what the pooler's memory did. */
export function describeAttack(what: string, flood: FloodResult, rss: RssSample | MemorySample, served: ServedResult): string {
  const retained = 'retainedKb' in rss ? `, retained after a full GC ${(rss.retainedBaselineKb / 1024).toFixed(1)} → ${(rss.retainedKb / 1024).toFixed(1)} MiB` : '';
  return (
    `${what}: sent ${(flood.sent / MiB).toFixed(0)} MiB (${flood.stalled ? 'then the pooler stopped reading' : 'never stopped'}), ` +
    `pooler RSS ${(rss.baselineKb / 1024).toFixed(0)} → max ${(rss.maxKb / 1024).toFixed(0)} MiB (+${((rss.maxKb - rss.baselineKb) / 1024).toFixed(0)}, ${rss.samples} samples)${retained}; ` +
    `other tenant: ${served.served} requests served, slowest ${served.maxMs.toFixed(0)} ms`
  );
}
