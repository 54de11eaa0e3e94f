import { describe, expect, it } from 'vitest';
import { ProcParseError } from './errors.ts';
import { parseMachineBusyTicks, parseProcStat, parseVmRssKb } from './proc-stat.ts';

// A real /proc/<pid>/stat line layout (52 fields); utime=1234 stime=567 cutime=89 cstime=10.
const fields = (comm: string): string =>
  `4242 (${comm}) S 4200 4242 4242 0 -1 4194560 1000 0 0 0 1234 567 89 10 20 0 11 0 123456 1234567890 4321 18446744073709551615 1 1 0 0 0 0 0 4096 16384 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0`;

describe('parseProcStat', () => {
  it('reads pid, comm, state, ppid and the four CPU times', () => {
    expect(parseProcStat(fields('pgbouncer'))).toEqual({ pid: 4242, comm: 'pgbouncer', state: 'S', ppid: 4200, utime: 1234, stime: 567, cutime: 89, cstime: 10 });
  });

  it('survives a comm containing spaces and parentheses', () => {
    // comm is attacker-controlled (prctl PR_SET_NAME); only the last ')' ends it.
    const s = parseProcStat(fields('node (worker) 1'));
    expect(s.comm).toBe('node (worker) 1');
    expect(s.ppid).toBe(4200);
    expect(s.utime).toBe(1234);
    expect(s.cstime).toBe(10);
  });

  it('rejects text that is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(ProcParseError);
    expect(() => parseProcStat('12 (x) S')).toThrow(ProcParseError);
  });
});

describe('parseVmRssKb', () => {
  it('reads VmRSS in kB from /proc/<pid>/status', () => {
    const status = 'Name:\tpgbouncer\nState:\tS (sleeping)\nVmPeak:\t   20000 kB\nVmRSS:\t    8704 kB\nRssAnon:\t  1024 kB\n';
    expect(parseVmRssKb(status)).toBe(8704);
  });

  it('throws for a zombie, which has no VmRSS line', () => {
    expect(() => parseVmRssKb('Name:\tnode\nState:\tZ (zombie)\n')).toThrow(ProcParseError);
  });
});

describe('parseMachineBusyTicks', () => {
  it('sums user, nice, system, irq, softirq and steal of the cpu line; idle and iowait are not busy', () => {
    const text = 'cpu  100 5 50 9000 70 3 2 1 0 0\ncpu0 50 2 25 4500 35 1 1 0 0 0\nintr 1 2 3\n';
    expect(parseMachineBusyTicks(text)).toBe(100 + 5 + 50 + 3 + 2 + 1);
  });

  it('refuses a file without the cpu line', () => {
    expect(() => parseMachineBusyTicks('intr 1 2 3\n')).toThrow(ProcParseError);
  });
});
