// A result of about 1 GB of DataRows (`SELECT repeat('x', 1000) FROM generate_series(1, 1000000)`)
// through the pooler in transaction mode to a client that reads slowly, with the pooler's resident
// set size sampled from /proc/<pid>/status every 200 ms (and its VmHWM, reset at the baseline).
// The protocol has no flow control of its own (PostgreSQL docs, "Simple Query": the backend sends
// every DataRow as it produces it); it is TCP's. So the pooler must stop reading the server
// connection while the client's socket is full, letting the backend block in its send, and its
// memory stays flat instead of growing with the result (buffering it would cost about 1 GB). Meanwhile a second client of the same tenant keeps getting
// answers: one client's full socket must not block the event loop or the pool (no head-of-line
// blocking), even while the slow client stops reading altogether.
//
// The pooler runs as a child process so the RSS measured is its own, not vitest's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { within } from './helpers/clients.ts';
import { ProtocolClient, query, startPoolerProcess, summarize, type Msg, type PoolerProcess } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';

const MB = 1024 * 1024;
const ROWS = 1_000_000;
const WIDTH = 1000;
// DataRow (55.7): Int32 length counting itself, Int16 column count, Int32 value length, value.
const DATAROW_LENGTH = 4 + 2 + 4 + WIDTH;
const TOTAL_BYTES = ROWS * (1 + DATAROW_LENGTH); // ≈ 964 MiB on the wire
/** The slow reader's pace: ~1 GB in ~30 s. */
const READ_RATE_BYTES_PER_S = 32 * MB;
/** Buffering the result would grow the pooler by ~1 GB; forwarding with backpressure by a few MB. */
const RSS_GROWTH_LIMIT_KB = 200 * 1024;
/** Round trips the second client must complete while the slow client reads nothing at all. */
const PROBES_DURING_STALL = 5;

let pg: PostgresServer;
let pooler: PoolerProcess;
let tenant: TestTenant;
let dir: string;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'large-result', pool: { mode: 'transaction', size: 2 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-large-result-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenant.config]), log_level: 'warn' }, dir);
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * Resets the process's peak RSS (VmHWM) to its current RSS (proc(5), /proc/pid/clear_refs, value 5),
 * so VmHWM afterwards is the true peak between samples. False where the kernel refuses it.
 */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the backend stream of `socket` at a limited rate without keeping DataRows: each DataRow's
 * header is checked (type 'D', length DATAROW_LENGTH) and counted, its body skipped; other
 * (small) messages are collected. Pacing: a token bucket refilled every 10 ms; when it is empty
 * the socket is paused, so Node stops reading from the kernel, the receive window closes, and the
 * pooler's writes to this client back up — exactly the situation the pooler must handle.
 */
class SlowReader {
  rows = 0;
  bytes = 0;
  badRows = 0;
  readonly others: Msg[] = [];
  private readonly socket: Socket;
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private type = '';
  private remaining = 0;
  private parts: Buffer[] = [];
  private allowance = 0;
  private stalled = false;
  private readonly ticker: NodeJS.Timeout;
  private waiter: { type: string; resolve: () => void } | undefined;
  private onRow: ((rows: number) => void) | undefined;

  constructor(socket: Socket, bytesPerSecond: number) {
    this.socket = socket;
    const perTick = bytesPerSecond / 100;
    this.ticker = setInterval(() => {
      // Cap the saved-up allowance so a pause (or the stall) is not followed by a burst.
      this.allowance = Math.min(this.allowance + perTick, perTick * 4);
      if (!this.stalled && this.allowance > 0 && socket.isPaused()) socket.resume();
    }, 10);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Calls `f` with the row count after every chunk (to trigger the stall). */
  watchRows(f: (rows: number) => void): void {
    this.onRow = f;
  }

  /** Stops reading until the returned function is called. */
  stall(): () => void {
    this.stalled = true;
    this.socket.pause();
    return () => {
      this.stalled = false;
    };
  }

  /** Resolves once a message of `type` arrives (or has arrived since the last call). */
  until(type: string): Promise<void> {
    const i = this.others.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { type, resolve }));
  }

  close(): void {
    clearInterval(this.ticker);
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.allowance -= chunk.length;
    if (this.allowance <= 0 || this.stalled) this.socket.pause();
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining === 0 && this.headerFill < 5) {
        const n = Math.min(5 - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill < 5) break;
        this.type = String.fromCharCode(this.header[0]!);
        this.remaining = this.header.readInt32BE(1) - 4;
        if (this.type === 'D') {
          this.rows++;
          if (this.remaining !== DATAROW_LENGTH - 4) this.badRows++;
        }
        if (this.remaining === 0) this.finish();
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - off);
      if (this.type !== 'D') this.parts.push(chunk.subarray(off, off + n));
      this.remaining -= n;
      off += n;
      if (this.remaining === 0) this.finish();
    }
    this.onRow?.(this.rows);
  }

  private finish(): void {
    if (this.type !== 'D') {
      this.others.push({ type: this.type, body: Buffer.concat(this.parts) });
      if (this.waiter?.type === this.type) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve();
      }
    }
    this.parts = [];
    this.headerFill = 0;
  }
}

it(
  'a ~1 GB result to a slow reader keeps the pooler’s RSS bounded while another client is served',
  async () => {
    const big = await ProtocolClient.connect(poolerConn(pooler, tenant));
    const probe = await ProtocolClient.connect(poolerConn(pooler, tenant));
    expect(await probe.simple('SELECT 1')).toEqual([['1']]);
    expect(await big.simple('SELECT 1')).toEqual([['1']]);
    // From here on the big client's bytes are read by the counting reader, not ProtocolClient's
    // framer (which would queue every DataRow: 1 GB in this process).
    big.socket.removeAllListeners('data');
    const reader = new SlowReader(big.socket, READ_RATE_BYTES_PER_S);

    const baselineKb = procStatusKb(pooler.pid, 'VmRSS');
    const hwmReset = resetPeakRss(pooler.pid);
    let peakKb = baselineKb;
    let samples = 0;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, procStatusKb(pooler.pid, 'VmRSS'));
      samples++;
    }, 200);

    // The second client: `SELECT 1` after `SELECT 1` for as long as the big result is in flight.
    let transferring = true;
    let probesDuringTransfer = 0;
    let probeWaiter: { atLeast: number; resolve: () => void } | undefined;
    const probing = (async () => {
      while (transferring) {
        expect(await probe.simple('SELECT 1')).toEqual([['1']]);
        if (!transferring) break;
        probesDuringTransfer++;
        if (probeWaiter && probesDuringTransfer >= probeWaiter.atLeast) {
          probeWaiter.resolve();
          probeWaiter = undefined;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    probing.catch(() => undefined); // awaited below; handled now so a failure is reported once
    const probesReach = (n: number): Promise<void> =>
      probesDuringTransfer >= n ? Promise.resolve() : new Promise((resolve) => (probeWaiter = { atLeast: n, resolve }));

    // Halfway through, the slow client stops reading altogether until the second client has had
    // PROBES_DURING_STALL more answers: with head-of-line blocking it would get none.
    let stall: Promise<void> | undefined;
    reader.watchRows((rows) => {
      if (stall || rows < ROWS / 2) return;
      const release = reader.stall();
      stall = within(probesReach(probesDuringTransfer + PROBES_DURING_STALL), 20_000, 'the second client’s SELECT 1 while the first client reads nothing').finally(release);
      // Awaited after the transfer; handled now so a hang is reported once, as this test's failure.
      stall.catch(() => undefined);
    });

    const started = Date.now();
    try {
      await big.send(query(`SELECT repeat('x', ${WIDTH}) FROM generate_series(1, ${ROWS})`));
      await within(reader.until('Z'), 80_000, 'the whole result');
    } finally {
      transferring = false;
      clearInterval(sampler);
      reader.close();
    }
    const seconds = (Date.now() - started) / 1000;
    peakKb = Math.max(peakKb, procStatusKb(pooler.pid, 'VmRSS'));
    const hwmKb = hwmReset ? procStatusKb(pooler.pid, 'VmHWM') : undefined;
    const worstKb = Math.max(peakKb, hwmKb ?? 0);
    await probing;
    await stall;

    console.log(
      `large result to a slow reader: ${(reader.bytes / MB).toFixed(0)} MiB in ${seconds.toFixed(1)} s ` +
        `(${(reader.bytes / MB / seconds).toFixed(1)} MiB/s); pooler RSS baseline ${(baselineKb / 1024).toFixed(1)} MiB, ` +
        `sampled peak ${(peakKb / 1024).toFixed(1)} MiB (${samples} samples every 200 ms)` +
        (hwmKb === undefined ? '' : `, VmHWM since baseline ${(hwmKb / 1024).toFixed(1)} MiB`) +
        `, growth ${((worstKb - baselineKb) / 1024).toFixed(1)} MiB; second client answered ${probesDuringTransfer} SELECT 1 during the transfer`,
    );

    // Every byte arrived: all rows, each a whole DataRow, then the command tag and ReadyForQuery.
    expect(reader.rows).toBe(ROWS);
    expect(reader.badRows).toBe(0);
    expect(reader.others.map(summarize)).toEqual([
      'T:repeat/25', // text
      `C:SELECT ${ROWS}`,
      'Z:I',
    ]);
    expect(reader.bytes).toBe(TOTAL_BYTES + reader.others.reduce((n, m) => n + 5 + m.body.length, 0));
    expect(worstKb - baselineKb, `pooler RSS grew from ${baselineKb >> 10} to ${worstKb >> 10} MiB`).toBeLessThan(RSS_GROWTH_LIMIT_KB);
    expect(probesDuringTransfer).toBeGreaterThanOrEqual(PROBES_DURING_STALL);

    big.destroy();
    await probe.end();
  },
  90_000,
);
