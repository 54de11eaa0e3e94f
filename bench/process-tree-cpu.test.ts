import { describe, expect, it } from 'vitest';
import { descendantsOf, treeTicks, type ProcStat } from './proc-stat.ts';

const p = (pid: number, ppid: number, utime = 0, stime = 0, cutime = 0, cstime = 0): ProcStat => ({ pid, ppid, comm: `p${pid}`, state: 'S', utime, stime, cutime, cstime });

describe('descendantsOf', () => {
  const all = [p(1, 0), p(100, 1), p(101, 100), p(102, 100), p(103, 101), p(200, 1), p(201, 200)];

  it('returns the root and all its descendants, not its siblings or parent', () => {
    expect(descendantsOf(100, all).map((s) => s.pid).sort((a, b) => a - b)).toEqual([100, 101, 102, 103]);
  });

  it('returns nothing for a pid that no longer exists', () => {
    expect(descendantsOf(999, all)).toEqual([]);
  });
});

describe('treeTicks', () => {
  it('sums user, system and reaped-children time over the tree', () => {
    expect(treeTicks([p(100, 1, 10, 5), p(101, 100, 3, 2, 1, 1)])).toBe(22);
  });

  it('keeps a worker that exited during the run: its time moves into the parent cutime', () => {
    const before = treeTicks([p(100, 1, 10, 5), p(101, 100, 30, 6)]);
    // Worker 101 ran 4 more ticks, exited and was reaped: 40 ticks now in the parent's cutime/cstime.
    const after = treeTicks([p(100, 1, 12, 5, 34, 6)]);
    expect(after - before).toBe(6);
  });
});
