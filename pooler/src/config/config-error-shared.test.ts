// One ConfigError: a missing SWITCHYARD_* variable read by the AWS source (shared/src/aws/env.ts)
// is the pooler's ConfigError with the pooler's code, so `instanceof ConfigError` checks and
// `code: 'INVALID_CONFIG'` hold for it as for an invalid config file.
import { describe, expect, it } from 'vitest';
import { readAwsEnv } from '../../../shared/src/aws/env.ts';
import { ConfigError } from './snapshot.ts';

describe('ConfigError', () => {
  it('is the same class for the AWS environment and the config file', () => {
    let caught: unknown;
    try {
      readAwsEnv({});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toMatchObject({ code: 'INVALID_CONFIG', name: 'ConfigError', message: expect.stringMatching(/^SWITCHYARD_\w+ is not set$/) });
  });
});
