// Preloaded into a pooler child process (`node --expose-gc --import <this> bin/switchyard.js
// pooler …`, startPoolerProcess's `memoryProbe`) by the bounded-memory tests: on SIGUSR2 it runs a
// full garbage collection and prints what the process still holds, so a test can tell memory the
// pooler retains (what a bound is about) from garbage not yet collected. The peak RSS alone cannot:
// a V8 young generation smaller than one read's worth of short-lived objects promotes them to the
// old generation, which then grows until the next full collection, and RSS keeps its peak after it
// (tracked Parse/Close flood with --max-semi-space-size=1: heapUsed 85 MiB → 22 MiB after gc(),
// RSS +81 MiB, against +23 MiB with the default young generation). Test-only: the pooler has no
// such handler in production (SIGUSR2 would end it).

/** The line prefix the test reads (hostile.ts retainedKb). */
const MEMORY_MARK = 'SWITCHYARD_TEST_MEMORY ';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('pooler-memory-probe needs --expose-gc');
let seq = 0;
process.on('SIGUSR2', () => {
  // Twice: a first pass may leave objects a finalizer or a weak callback frees only in the next.
  gc();
  gc();
  const m = process.memoryUsage();
  seq++;
  process.stderr.write(`${MEMORY_MARK}${seq} ${JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss })}\n`);
});
