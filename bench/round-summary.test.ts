import { describe, expect, it } from 'vitest';
import type { ProtocolMode, RunMode, Target } from './options.ts';
import { cpuUsPerTransaction, median, summarise, type RunRecord } from './summary.ts';

const run = (target: Target, tps: number, extra: Partial<RunRecord> = {}): RunRecord => ({ target, clients: 50, mode: 'simple', round: 1, ok: true, tps, wallSec: 5, ...extra });

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});

describe('cpuUsPerTransaction', () => {
  it('converts clock ticks to microseconds per transaction', () => {
    // 150 ticks at 100 Hz = 1.5 s of CPU over 50 000 transactions = 30 µs each.
    expect(cpuUsPerTransaction(150, 100, 50_000)).toBeCloseTo(30);
    expect(cpuUsPerTransaction(150, 100, 0)).toBeUndefined();
  });
});

describe('summarise', () => {
  const none = (): undefined => undefined;

  it('reports the median of rounds per target and the Switchyard/PgBouncer ratio', () => {
    const runs = [
      run('pgbouncer', 100, { cpuUsPerTxn: 30 }),
      run('pgbouncer', 300, { cpuUsPerTxn: 32 }),
      run('pgbouncer', 200, { cpuUsPerTxn: 31 }),
      run('switchyard', 150, { cpuUsPerTxn: 60 }),
      run('switchyard', 50, { cpuUsPerTxn: 70 }),
      run('switchyard', 100, { cpuUsPerTxn: 65 }),
      run('direct', 400),
    ];
    const [row] = summarise(runs, [50], ['simple'], ['direct', 'pgbouncer', 'switchyard'], none);
    expect(row?.cells.pgbouncer).toMatchObject({ status: 'ok', tps: 200, cpuUsPerTxn: 31, rounds: 3, failures: 0 });
    expect(row?.cells.switchyard).toMatchObject({ tps: 100, cpuUsPerTxn: 65 });
    expect(row?.cells.direct.tps).toBe(400);
    expect(row?.ratio).toBeCloseTo(0.5);
  });

  it('leaves failed rounds out of the median and counts them, keeping the first error', () => {
    const runs = [run('switchyard', 100), run('switchyard', 5, { ok: false, error: 'boom' }), run('pgbouncer', 200)];
    const [row] = summarise(runs, [50], ['simple'], ['pgbouncer', 'switchyard'], none);
    expect(row?.cells.switchyard).toMatchObject({ status: 'ok', tps: 100, rounds: 1, failures: 1, note: 'boom' });
    expect(row?.cells.direct.status).toBe('skipped');
  });

  it('marks a target whose every round failed as failed, with no ratio', () => {
    const runs = [run('switchyard', 0, { ok: false, error: 'reset' }), run('pgbouncer', 200)];
    const [row] = summarise(runs, [50], ['simple'], ['pgbouncer', 'switchyard'], none);
    expect(row?.cells.switchyard.status).toBe('failed');
    expect(row?.ratio).toBeUndefined();
  });

  it('shows n/a and unavailable targets as such', () => {
    const excluded = (t: Target, m: RunMode) =>
      t === 'pgbouncer' && m === 'prepared' ? { status: 'n/a' as const, note: 'no prepared' } : t === 'switchyard' ? { status: 'unavailable' as const, note: 'did not start' } : undefined;
    const rows = summarise([run('direct', 1, { mode: 'prepared' })], [50], ['prepared'], ['direct', 'pgbouncer', 'switchyard'], excluded);
    expect(rows[0]?.cells.pgbouncer).toMatchObject({ status: 'n/a', note: 'no prepared' });
    expect(rows[0]?.cells.switchyard).toMatchObject({ status: 'unavailable', note: 'did not start' });
  });
});
