import { describe, expect, it } from 'vitest';
import { BenchOptionError } from './errors.ts';
import { parseOptions } from './options.ts';

const dir = '/repo/bench/results';

describe('parseOptions', () => {
  it('defaults to 3 rounds of 5 s for 1, 50 and 500 clients, every mode and target, pool 20, 1000 idle clients', () => {
    const o = parseOptions([], {}, dir);
    expect(o).toMatchObject({ rounds: 3, durationSec: 5, clients: [1, 50, 500], jobs: 2, poolSize: 20, idleClients: 1000, logins: 1000, tlsClients: [50], manyIdle: 100_000, workerScaling: 'auto', quick: false, resultsDir: dir });
    expect(o.modes).toEqual(['simple', 'extended', 'prepared']);
    expect(o.targets).toEqual(['direct', 'pgbouncer', 'switchyard']);
  });

  it('--quick shortens everything', () => {
    expect(parseOptions(['--quick'], {}, dir)).toMatchObject({ quick: true, rounds: 1, durationSec: 2, clients: [1, 50], idleClients: 100, logins: 100, manyIdle: 0, workerScaling: undefined });
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

  it('the scale tests after the table: --many-idle 0 and --worker-scaling off skip them; a bad value is refused', () => {
    expect(parseOptions(['--many-idle', '0', '--worker-scaling', 'off'], {}, dir)).toMatchObject({ manyIdle: 0, workerScaling: undefined });
    expect(parseOptions(['--quick', '--worker-scaling', '2'], { BENCH_MANY_IDLE: '5000' }, dir)).toMatchObject({ manyIdle: 5000, workerScaling: '2' });
    expect(() => parseOptions(['--worker-scaling', 'many'], {}, dir)).toThrow(BenchOptionError);
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
