// The well-behaved client that runs beside the fuzzer, on a tenant of its own: about every 100 ms
// a `SELECT 1`, a transaction (BEGIN, INSERT, SELECT count, COMMIT — the count proves each one
// committed exactly once), or a parameterised extended-protocol query; every 50th step a fresh
// login. Each step must succeed, with the right answer, within `boundMs`. Its results are the
// evidence that the fuzzed pooler kept serving everyone else.
import { ProtocolClient, bind, execute, parse, query, rows, summarizeAll, sync } from '../helpers/raw-protocol.ts';
import type { ConnSettings } from '../helpers/tenants.ts';

export interface CanaryFailure {
  at: number;
  step: string;
  error: string;
}

export interface CanaryReport {
  steps: number;
  failures: CanaryFailure[];
  /** Transactions the canary saw commit (its table must hold exactly as many rows). */
  committed: number;
  maxMs: number;
  p50Ms: number;
  p99Ms: number;
  logins: number;
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what} took more than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class Canary {
  private readonly conn: ConnSettings;
  private readonly boundMs: number;
  private readonly intervalMs: number;
  private client: ProtocolClient | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly durations: number[] = [];
  readonly failures: CanaryFailure[] = [];
  /** Called after each failed step (the fuzzer then records what PostgreSQL and the pooler look like). */
  onFailure: (() => void) | undefined;
  private steps = 0;
  private committed = 0;
  /** The steps whose transaction committed, and when (to name any that went missing). */
  private readonly committedSteps: { n: number; at: string }[] = [];
  /** After a failed step a transaction may or may not have committed: count the rows again. */
  private recount = false;
  private logins = 0;

  constructor(conn: ConnSettings, opts: { boundMs: number; intervalMs?: number }) {
    this.conn = conn;
    this.boundMs = opts.boundMs;
    this.intervalMs = opts.intervalMs ?? 100;
  }

  start(): void {
    this.loop = this.run();
  }

  private async connect(): Promise<ProtocolClient> {
    const c = await ProtocolClient.connect(this.conn);
    this.logins++;
    return c;
  }

  private async step(n: number): Promise<void> {
    if (n % 50 === 49) {
      const fresh = await this.connect();
      try {
        const r = await fresh.simple('SELECT 1');
        if (r[0]?.[0] !== '1') throw new Error(`fresh login: SELECT 1 gave ${JSON.stringify(r)}`);
      } finally {
        await fresh.end();
      }
      return;
    }
    this.client ??= await this.connect();
    const c = this.client;
    switch (n % 3) {
      case 0: {
        const r = await c.simple('SELECT 1');
        if (r[0]?.[0] !== '1') throw new Error(`SELECT 1 gave ${JSON.stringify(r)}`);
        return;
      }
      case 1: {
        if (this.recount) {
          this.committed = Number((await c.simple('SELECT count(*) FROM canary_log'))[0]?.[0]);
          this.recount = false;
        }
        // Each statement must run inside the one transaction on one server connection: the
        // ReadyForQuery status says 'T' until the COMMIT, the backend never changes, and no
        // notice (e.g. 25P01 "there is no transaction in progress") comes.
        const pids: string[] = [];
        const trail: string[] = [];
        const step = async (sql: string, status: string): Promise<(string | null)[][]> => {
          const msgs = await c.request(query(sql));
          const got = summarizeAll(msgs);
          trail.push(`${sql} → ${got.join(' ')}`);
          if (got.at(-1) !== `Z:${status}` || msgs.some((m) => m.type === 'E' || m.type === 'N')) {
            throw new Error(`transaction: ${trail.join(' | ')}`);
          }
          return rows(msgs);
        };
        pids.push((await step('BEGIN; SELECT pg_backend_pid()', 'T'))[0]![0]!);
        pids.push((await step(`INSERT INTO canary_log (n) VALUES (${n}) RETURNING pg_backend_pid()`, 'T'))[0]![0]!);
        const inside = await step('SELECT count(*), pg_backend_pid() FROM canary_log', 'T');
        pids.push(inside[0]![1]!);
        await step('COMMIT', 'I');
        this.committed++;
        this.committedSteps.push({ n, at: new Date().toISOString() });
        const count = Number(inside[0]![0]);
        if (new Set(pids).size !== 1) throw new Error(`transaction moved between backends ${pids.join(', ')}: ${trail.join(' | ')}`);
        if (count !== this.committed) {
          const present = new Set((await c.simple('SELECT n FROM canary_log')).map((r) => Number(r[0])));
          const missing = this.committedSteps.filter((s) => !present.has(s.n)).map((s) => `${s.n} (committed ${s.at})`);
          throw new Error(`transaction: ${count} rows inside it, expected ${this.committed}; missing: ${missing.join(', ')}: ${trail.join(' | ')}`);
        }
        return;
      }
      default: {
        const msgs = await c.request(parse('', 'SELECT $1::int + 1'), bind('', '', [String(n)]), execute(), sync());
        const got = rows(msgs)[0]?.[0];
        if (got !== String(n + 1)) throw new Error(`extended query gave ${JSON.stringify(summarizeAll(msgs))}`);
        return;
      }
    }
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const started = Date.now();
      const what = `step ${n} (${n % 50 === 49 ? 'fresh login' : ['SELECT 1', 'transaction', 'extended query'][n % 3]})`;
      try {
        await bounded(this.step(n), this.boundMs, what);
        this.durations.push(Date.now() - started);
      } catch (err) {
        this.failures.push({ at: started, step: what, error: (err as Error).message });
        this.onFailure?.();
        this.recount = true;
        this.client?.destroy();
        this.client = undefined;
      }
      this.steps++;
      const left = this.intervalMs - (Date.now() - started);
      if (left > 0 && !this.stopped) await new Promise((r) => setTimeout(r, left));
    }
  }

  async stop(): Promise<CanaryReport> {
    this.stopped = true;
    await this.loop;
    await this.client?.end().catch(() => undefined);
    const sorted = [...this.durations].sort((a, b) => a - b);
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return { steps: this.steps, failures: this.failures, committed: this.committed, maxMs: sorted.at(-1) ?? 0, p50Ms: q(0.5), p99Ms: q(0.99), logins: this.logins };
  }
}
