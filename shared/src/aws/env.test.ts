import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config-error.ts';
import { clusterTargetsParameter, configVersionParameter, parsePoolerTag, readAwsEnv } from './env.ts';

describe('AWS adapter environment', () => {
  const base = { SWITCHYARD_TABLE: 't', SWITCHYARD_KMS_KEY_ID: 'alias/k', SWITCHYARD_STAGE: 'prod' };

  it('reads the variables and defaults the pooler tag', () => {
    expect(readAwsEnv(base)).toEqual({ table: 't', kmsKeyId: 'alias/k', stage: 'prod', poolerTag: { key: 'switchyard:role', value: 'pooler' } });
    expect(readAwsEnv({ ...base, SWITCHYARD_POOLER_TAG: 'Role=proxy=x' }).poolerTag).toEqual({ key: 'Role', value: 'proxy=x' });
  });

  it.each(['SWITCHYARD_TABLE', 'SWITCHYARD_KMS_KEY_ID', 'SWITCHYARD_STAGE'])('refuses to start without %s', (name) => {
    expect(() => readAwsEnv({ ...base, [name]: '' })).toThrow(ConfigError);
  });

  it.each(['pooler', '=x', 'x='])('rejects the pooler tag %j', (tag) => {
    expect(() => parsePoolerTag(tag)).toThrow(ConfigError);
  });

  it('names the SSM parameters', () => {
    expect(clusterTargetsParameter('prod', 'main')).toBe('/switchyard/prod/clusters/main');
    expect(configVersionParameter('prod')).toBe('/switchyard/prod/config-version');
  });
});
