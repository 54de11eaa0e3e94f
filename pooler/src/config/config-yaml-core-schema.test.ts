// The YAML config is read with YAML 1.2's core schema (pooler/src/config/load.ts): plain scalars
// become null/bool/int/float/str only, so a value that looks like a date stays a string, and a
// syntax error or a duplicate key is a ConfigError naming the file and the line.
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.ts';
import { ConfigError } from './snapshot.ts';

describe('YAML config parsing', () => {
  it('resolves core-schema scalars: ints, bools, null, and dates left as strings', () => {
    const c = parseConfig(
      [
        'listen: { host: 127.0.0.1, port: 7001 }',
        'log_level: warn',
        'tenants:',
        '  - id: "2024-01-01"',
        '    database: app',
        '    user: app',
        '    verifiers: ["md5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]',
        '    target: { host: 127.0.0.1, port: 5432, database: app, user: owner, password: pw }',
        '    pool: { mode: transaction, size: 3 }',
      ].join('\n'),
    );
    expect(c.listen.port).toBe(7001);
    expect(c.tenants[0]?.id).toBe('2024-01-01');
    expect(c.tenants[0]?.pool.size).toBe(3);
  });

  it('an empty file, or one with only comments, is the defaults', () => {
    expect(parseConfig('').listen.port).toBeGreaterThan(0);
    expect(parseConfig('# nothing yet\n\n  # indented comment\n').tenants).toEqual([]);
  });

  it('a syntax error is a ConfigError with the source, the line and the column', () => {
    const bad = 'listen:\n  host: 127.0.0.1\n   port: [7001\n';
    expect(() => parseConfig(bad, '/etc/switchyard.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(bad, '/etc/switchyard.yaml')).toThrow(/\/etc\/switchyard\.yaml: invalid YAML: bad indentation of a mapping entry \(line 3, column \d+\)$/);
  });

  it('a duplicate key is refused rather than silently taking the last value', () => {
    expect(() => parseConfig('log_level: warn\nlog_level: debug\n')).toThrow(/invalid YAML: .*duplic/is);
  });

  it('never quotes the file in the error: the lines around a mistake may hold a password', () => {
    const bad = ['tenants:', '  - id: a', '    target: { host: db, password: hunter2-secret }', '    pool: { size: 2 }', '     mode: x', ''].join('\n');
    let message = '';
    try {
      parseConfig(bad, 'pooler.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^pooler\.yaml: invalid YAML: .*\(line 5, column \d+\)$/);
    expect(message).not.toContain('hunter2');
  });
});
