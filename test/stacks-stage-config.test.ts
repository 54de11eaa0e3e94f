// The stage config (deploy/stages/<stage>.json): the example validates, and a broken file fails
// the synth with a message naming the field instead of producing a broken fleet.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testStageConfig } from '../stacks/offline-synth.ts';
import { StageConfigError, loadStageConfig, parseStageConfig, stageConfigPath } from '../stacks/settings.ts';

const root = resolve(import.meta.dirname, '..');

it('the shipped example is a valid stage config', () => {
  const config = loadStageConfig(root, 'example');
  expect(config.vpc.subnets).toHaveLength(3);
  expect(config.clusters.map((c) => c.kind)).toEqual(['aurora', 'rds-instance', 'static']);
});

it('fills in defaults: development stage, 2..6 Graviton instances on 5432, verify-full TLS, 30-day logs', () => {
  const c = parseStageConfig(testStageConfig(), 'test');
  expect(c.production).toBe(false);
  expect(c.pooler).toEqual({ instanceType: 't4g.medium', minCapacity: 2, maxCapacity: 6, port: 5432, shutdownTimeoutSeconds: 30 });
  expect(c.targetSslMode).toBe('verify-full');
  expect(c.logRetentionDays).toBe(30);
});

describe('rejects', () => {
  const bad = (overrides: Record<string, unknown>) => () => parseStageConfig({ ...testStageConfig(), ...overrides }, 'bad.json');

  it('a single subnet, or two in the same Availability Zone', () => {
    expect(bad({ vpc: { id: 'vpc-0123456789abcdef0', subnets: [{ id: 'subnet-0aaaaaaaaaaaaaaa1', availabilityZone: 'eu-west-1a' }] } })).toThrow(/vpc\.subnets: give at least two subnets/);
    expect(
      bad({
        vpc: {
          id: 'vpc-0123456789abcdef0',
          subnets: [
            { id: 'subnet-0aaaaaaaaaaaaaaa1', availabilityZone: 'eu-west-1a' },
            { id: 'subnet-0bbbbbbbbbbbbbbb2', availabilityZone: 'eu-west-1a' },
          ],
        },
      }),
    ).toThrow(/distinct Availability Zones/);
  });

  it('an RDS cluster without its identifier, or a database the poolers could not be allowed to reach', () => {
    expect(bad({ clusters: [{ id: 'orders', kind: 'aurora', securityGroupId: 'sg-0ddddddddddddddd1' }] })).toThrow(/clusters\.0: aurora and rds-instance clusters need rdsIdentifier/);
    expect(bad({ clusters: [{ id: 'legacy', kind: 'static' }] })).toThrow(/give securityGroupId or cidr/);
  });

  it('no clients at all, and a fleet with no room for a rolling replacement', () => {
    expect(bad({ clients: { cidrs: [], securityGroupIds: [] } })).toThrow(/clients: name at least one client/);
    expect(bad({ pooler: { minCapacity: 2, maxCapacity: 2 } })).toThrow(/maxCapacity must exceed minCapacity/);
  });

  it('a client port the pooler itself uses (health 9127, cancel peer port 9128)', () => {
    expect(bad({ pooler: { port: 9127 } })).toThrow(/port 9127 is the pooler health port/);
    expect(bad({ pooler: { port: 9128 } })).toThrow(/port 9128 is the poolers’ cancel peer port/);
  });

  it('unknown keys (a typo must not be silently ignored)', () => {
    expect(bad({ vpcs: {} })).toThrow(StageConfigError);
    expect(bad({ vpcs: {} })).toThrow(/bad\.json/);
  });
});

describe('the file', () => {
  it('is deploy/stages/<stage>.json, or SWITCHYARD_STAGE_CONFIG relative to the root', () => {
    expect(stageConfigPath('/app', 'prod', {})).toBe('/app/deploy/stages/prod.json');
    expect(stageConfigPath('/app', 'prod', { SWITCHYARD_STAGE_CONFIG: 'conf/p.json' })).toBe('/app/conf/p.json');
  });

  it('when missing, the error says where to put it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-stage-'));
    expect(() => loadStageConfig(dir, 'prod', {})).toThrow(/No stage config for stage "prod": expected .*deploy\/stages\/prod\.json\. Copy deploy\/stages\/example\.json/);
  });

  it('when not JSON, the error names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-stage-'));
    mkdirSync(join(dir, 'deploy', 'stages'), { recursive: true });
    writeFileSync(join(dir, 'deploy', 'stages', 'prod.json'), '{ nope');
    expect(() => loadStageConfig(dir, 'prod', {})).toThrow(/prod\.json is not valid JSON/);
  });
});
