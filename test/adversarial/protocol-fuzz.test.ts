// The protocol fuzzer (test/fuzz/) for a bounded time as part of `npm test`: random and mutated
// frontend messages in every state (start-up with SSLRequest/GSSENCRequest/CancelRequest, SCRAM
// and md5 authentication, idle, in a transaction, in a failed transaction, tracked mode, COPY in
// and out, session mode, the admin console, TLS) on 12 connections at once, against a pooler
// process and PostgreSQL, while fuzz tenants' server connections are terminated and the pooler
// reloads now and then. The pooler must not crash or log an error, its RSS must stay below the
// bound, and a canary client on another tenant must get every answer right within 10 s throughout
// (a hang detector on a machine whose two cores the rest of the suite shares; the report gives the
// canary's p50/p99/max latency).
// The seed is fixed, so that every run of `npm test` throws the same inputs (the timing between
// connections still varies): a new finding must not appear as a failure of someone else's change.
// New seeds are explored with `npm run fuzz` (a random seed each run, or --seed), and each finding
// becomes a test of its own under test/adversarial/. SWITCHYARD_FUZZ_SEED=… runs another seed here.
import { expect, it } from 'vitest';
import { formatReport, runFuzz } from '../fuzz/fuzz.ts';

const SUITE_SEED = 'c5c31c6bf461';
const SECONDS = Number(process.env.SWITCHYARD_FUZZ_SECONDS ?? 60);
const RSS_LIMIT_MB = 384;
const CANARY_BOUND_MS = 10_000;

it(
  `fuzzes the pooler for ${SECONDS} s: no crash, no error logged, RSS below ${RSS_LIMIT_MB} MiB, the canary always served within ${CANARY_BOUND_MS / 1000} s`,
  async () => {
    const seed = process.env.SWITCHYARD_FUZZ_SEED ?? SUITE_SEED;
    console.info(`protocol fuzz: seed ${seed} (SWITCHYARD_FUZZ_SEED=${seed} to run the same inputs again)`);
    const r = await runFuzz({ seed, seconds: SECONDS, lanes: 12, rssLimitMb: RSS_LIMIT_MB, canaryBoundMs: CANARY_BOUND_MS });
    const report = formatReport(r);
    console.info(report);
    expect(r.crashes.map((c) => c.tail), report).toEqual([]);
    expect(r.errorLines, report).toEqual([]);
    expect(r.badBackendStreams, report).toBe(0);
    expect(r.driverErrors, report).toEqual([]);
    expect(r.rss.peakMb, report).toBeLessThan(RSS_LIMIT_MB);
    expect(r.canary.failures, report).toEqual([]);
    // The canary really ran all along (about ten steps a second), and each of its transactions
    // committed exactly once.
    expect(r.canary.steps, report).toBeGreaterThan(SECONDS * 5);
    expect(r.canaryRows, report).toBe(r.canary.committed);
    // The fuzzer really fuzzed: every scenario ran, with a meaningful number of inputs.
    for (const s of ['startup', 'cancel', 'tls', 'auth', 'idle', 'session', 'transaction', 'failed', 'tracked', 'copy-in', 'copy-out', 'admin', 'random']) {
      expect(r.byScenario[s] ?? 0, `connections of scenario ${s}`).toBeGreaterThan(0);
    }
    expect(r.inputs, report).toBeGreaterThan(SECONDS * 100);
    // And the chaos beside it happened: fuzz server connections terminated, reloads.
    expect(r.chaos.terminated, report).toBeGreaterThan(0);
    expect(r.chaos.reloads, report).toBeGreaterThan(0);
  },
  (SECONDS + 120) * 1000,
);
