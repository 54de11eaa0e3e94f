import { describe, expect, it } from 'vitest';
import { PgbenchOutputError } from './errors.ts';
import { parsePgbenchOutput, pgbenchErrorLines } from './pgbench-output.ts';

// Verbatim from pgbench 15.18 (Debian 12) against a local PostgreSQL.
const pg15 = `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 1
query mode: simple
number of clients: 2
number of threads: 2
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 81838
number of failed transactions: 0 (0.000%)
latency average = 0.024 ms
initial connection time = 7.679 ms
tps = 82235.443900 (without initial connection time)
`;

// pgbench 13 printed two tps lines; the one without connection set-up is the comparable figure.
const pg13 = `transaction type: <builtin: select only>
number of transactions actually processed: 5000
latency average = 0.200 ms
tps = 4000.000000 (including connections establishing)
tps = 4500.500000 (excluding connections establishing)
`;

describe('parsePgbenchOutput', () => {
  it('reads transactions, failures, tps, latency and connection time from pgbench 15', () => {
    expect(parsePgbenchOutput(pg15)).toEqual({ transactions: 81838, failed: 0, tps: 82235.4439, latencyMs: 0.024, connectionMs: 7.679 });
  });

  it('takes the tps excluding connection establishment from pgbench 13', () => {
    const s = parsePgbenchOutput(pg13);
    expect(s.tps).toBe(4500.5);
    expect(s.transactions).toBe(5000);
    expect(s.failed).toBe(0);
    expect(s.connectionMs).toBeUndefined();
  });

  it('reads a non-zero failure count', () => {
    const s = parsePgbenchOutput(pg15.replace('number of failed transactions: 0 (0.000%)', 'number of failed transactions: 12 (0.015%)'));
    expect(s.failed).toBe(12);
  });

  it('throws PgbenchOutputError with the tail of the output when there is no summary', () => {
    const text = 'pgbench: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n';
    expect(() => parsePgbenchOutput(text)).toThrow(PgbenchOutputError);
    expect(() => parsePgbenchOutput(text)).toThrow(/Connection refused/);
  });
});

describe('pgbenchErrorLines', () => {
  it('collects the error lines pgbench logs while still exiting 0', () => {
    // What pgbench -M prepared through PgBouncer 1.18 in transaction mode writes to stderr.
    const stderr = 'pgbench: error: ERROR:  prepared statement "P_0" already exists\npgbench: error: ERROR:  prepared statement "P_0" already exists\n';
    expect(pgbenchErrorLines(stderr)).toEqual(['ERROR:  prepared statement "P_0" already exists', 'ERROR:  prepared statement "P_0" already exists']);
  });

  it('finds nothing in a clean run', () => {
    expect(pgbenchErrorLines('')).toEqual([]);
    expect(pgbenchErrorLines('pgbench: warning: something harmless\n')).toEqual([]);
  });
});
