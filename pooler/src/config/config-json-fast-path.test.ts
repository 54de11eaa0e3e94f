import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.ts';
import { ConfigError } from './snapshot.ts';

describe('configuration text', () => {
  it('takes JSON (valid YAML) and YAML flow style alike', () => {
    const json = parseConfig('{"listen": {"host": "127.0.0.1", "port": 7000}, "log_level": "warn"}');
    const flow = parseConfig('{ listen: { host: 127.0.0.1, port: 7000 }, log_level: warn }');
    expect(json.listen).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(flow).toEqual(json);
  });

  it('validates JSON input like YAML, naming the key', () => {
    expect(() => parseConfig('{"listen": {"port": "x"}}')).toThrow(ConfigError);
    expect(() => parseConfig('{"listen": {"port": "x"}}')).toThrow(/listen\.port/);
  });
});
