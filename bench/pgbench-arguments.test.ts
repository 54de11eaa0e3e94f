import { describe, expect, it } from 'vitest';
import { pgbenchArgs } from './pgbench.ts';
import { supportsPreparedStatements } from './pgbouncer.ts';

const login = { host: '127.0.0.1', port: 6432, database: 'bench', user: 'bench', password: 'secret' };

describe('pgbenchArgs', () => {
  it('runs the select-only script without vacuum, for a fixed time, in the given protocol mode', () => {
    expect(pgbenchArgs(login, { clients: 50, jobs: 2, durationSec: 5, mode: 'extended' })).toEqual([
      '-n', '-S', '-c', '50', '-j', '2', '-T', '5', '-M', 'extended', '-h', '127.0.0.1', '-p', '6432', '-U', 'bench', 'bench',
    ]);
  });

  it('never asks for more threads than clients, and keeps the password off the command line', () => {
    const args = pgbenchArgs(login, { clients: 1, jobs: 2, durationSec: 5, mode: 'simple' });
    expect(args[args.indexOf('-j') + 1]).toBe('1');
    expect(args.join(' ')).not.toContain('secret');
  });
});

describe('supportsPreparedStatements', () => {
  it('is false for PgBouncer before 1.21 and true from 1.21 on', () => {
    expect(supportsPreparedStatements('PgBouncer 1.18.0')).toBe(false);
    expect(supportsPreparedStatements('PgBouncer 1.21.0')).toBe(true);
    expect(supportsPreparedStatements('PgBouncer 1.25.1')).toBe(true);
    expect(supportsPreparedStatements('PgBouncer 2.0.0')).toBe(true);
    expect(supportsPreparedStatements('')).toBe(false);
  });
});
