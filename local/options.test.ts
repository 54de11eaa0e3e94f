// One UsageError for every command: `switchyard start`'s bad flags throw the same class the API
// commands (cli/) throw and catch.
import { describe, expect, it } from 'vitest';
import { parse } from '../cli/args.ts';
import { parseStartOptions } from './options.ts';

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

describe('UsageError', () => {
  it('is one class for `switchyard start` and the API commands', () => {
    const start = thrown(() => parseStartOptions(['--api-port', 'x']));
    const api = thrown(() => parse(['--no-such-flag'], {}, 'usage: test', { min: 0, max: 0 }));
    expect(start).toMatchObject({ code: 'USAGE', name: 'UsageError', message: expect.stringMatching(/not a port/) });
    expect(api).toMatchObject({ code: 'USAGE', name: 'UsageError', usage: 'usage: test' });
    expect(start).toBeInstanceOf(api.constructor);
  });
});
