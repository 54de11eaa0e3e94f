import { describe, expect, it } from 'vitest';
import { BenchOptionError } from './errors.ts';
import { parseIdleClientsOptions, parseWorkersOptions } from './scale-options.ts';

describe('parseIdleClientsOptions', () => {
  it('defaults to 100,000 clients over enough source addresses', () => {
    const o = parseIdleClientsOptions([]);
    expect(o).toMatchObject({ clients: 100_000, sourceAddresses: 4, pgbenchClients: 50, targets: ['pgbouncer', 'switchyard'] });
  });

  it('derives the source addresses from the client count', () => {
    expect(parseIdleClientsOptions(['--clients', '2000']).sourceAddresses).toBe(1);
    expect(parseIdleClientsOptions(['--clients', '250000']).sourceAddresses).toBe(10);
  });

  it('refuses too few source addresses for the clients, and bad values', () => {
    expect(() => parseIdleClientsOptions(['--clients', '100000', '--source-addresses', '2'])).toThrow(/at most 50000/);
    expect(() => parseIdleClientsOptions(['--clients', '0'])).toThrow(BenchOptionError);
    expect(() => parseIdleClientsOptions(['--targets', 'direct'])).toThrow(/unknown "direct"/);
    expect(() => parseIdleClientsOptions(['--nope'])).toThrow(BenchOptionError);
  });
});

describe('parseWorkersOptions', () => {
  it('auto means one process per core, at least two', () => {
    expect(parseWorkersOptions([], 2).processes).toBe(2);
    expect(parseWorkersOptions(['--workers', 'auto'], 8).processes).toBe(8);
    expect(parseWorkersOptions(['--workers', 'auto'], 1).processes).toBe(2);
    expect(parseWorkersOptions(['--workers', '3'], 2).processes).toBe(3);
  });

  it('defaults to 50 and 200 clients and all four targets', () => {
    const o = parseWorkersOptions([], 2);
    expect(o.clients).toEqual([50, 200]);
    expect(o.targets).toEqual(['pgbouncer', 'pgbouncer-reuseport', 'switchyard', 'switchyard-workers']);
  });

  it('refuses one worker (nothing to scale) and unknown targets', () => {
    expect(() => parseWorkersOptions(['--workers', '1'], 2)).toThrow(BenchOptionError);
    expect(() => parseWorkersOptions(['--targets', 'bun'], 2)).toThrow(/unknown "bun"/);
    expect(() => parseWorkersOptions(['--clients', '50,x'], 2)).toThrow(BenchOptionError);
  });
});
