import { describe, expect, it } from 'vitest';
import { BenchOptionError } from './errors.ts';
import { parseOptions } from './options.ts';

const dir = '/repo/bench/results';

describe('parseOptions', () => {
  it('defaults to 3 rounds of 5 s for 1, 50 and 500 clients, every mode and target, pool 20, 1000 idle clients', () => {
    const o = parseOptions([], {}, dir);
    expect(o).toMatchObject({ rounds: 3, durationSec: 5, clients: [1, 50, 500], jobs: 2, poolSize: 20, idleClients: 1000, logins: 1000, tlsClients: [50], quick: false, resultsDir: dir });
    expect(o.modes).toEqual(['simple', 'extended', 'prepared']);
    expect(o.targets).toEqual(['direct', 'pgbouncer', 'switchyard']);
  });

  it('--quick shortens everything', () => {
    expect(parseOptions(['--quick'], {}, dir)).toMatchObject({ quick: true, rounds: 1, durationSec: 2, clients: [1, 50], idleClients: 100, logins: 100 });
  });

  it('a flag beats the environment, which beats --quick and the defaults', () => {
    const env = { BENCH_ROUNDS: '5', BENCH_DURATION: '10', BENCH_CLIENTS: '8,16' };
    const o = parseOptions(['--quick', '--rounds', '2'], env, dir);
    expect(o.rounds).toBe(2);
    expect(o.durationSec).toBe(10);
    expect(o.clients).toEqual([8, 16]);
  });

  it('accepts --flag=value and lists, dropping duplicates', () => {
    const o = parseOptions(['--modes=extended,simple,extended', '--targets', 'pgbouncer,switchyard', '--idle-clients=0'], {}, dir);
    expect(o.modes).toEqual(['extended', 'simple']);
    expect(o.targets).toEqual(['pgbouncer', 'switchyard']);
    expect(o.idleClients).toBe(0);
  });

  it('--tls-clients 0 runs no TLS rows', () => {
    expect(parseOptions(['--tls-clients', '0'], {}, dir).tlsClients).toEqual([]);
    expect(parseOptions([], { BENCH_TLS_CLIENTS: '1,50' }, dir).tlsClients).toEqual([1, 50]);
  });

  it('rejects unknown flags, unknown modes and non-numbers with BenchOptionError', () => {
    expect(() => parseOptions(['--nope'], {}, dir)).toThrow(BenchOptionError);
    expect(() => parseOptions(['--modes', 'simple,fast'], {}, dir)).toThrow(/unknown "fast"/);
    expect(() => parseOptions(['--rounds', '0'], {}, dir)).toThrow(BenchOptionError);
    expect(() => parseOptions([], { BENCH_DURATION: 'ten' }, dir)).toThrow(/--duration/);
  });
});
