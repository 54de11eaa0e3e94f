// Storage stack: the single table with its GSI and point-in-time recovery, the customer-managed
// key with rotation and an alias; retained and deletion-protected only in production stages.
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';
import { Storage } from '../stacks/Storage.ts';

let dev: OfflineSynth;
let prod: OfflineSynth;

beforeAll(async () => {
  dev = await synthOffline({ stage: 'dev', config: testStageConfig() });
  prod = await synthOffline({ stage: 'prod', config: testStageConfig({ production: true }) });
});

describe('the table', () => {
  it('has the pk/sk key schema, the byCluster GSI on gsi1pk/gsi1sk, on-demand billing, PITR and TTL on ttl', () => {
    const t = dev.template(Storage);
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byCluster',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('is retained and deletion-protected in production', () => {
    prod.template(Storage).hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('is neither in a development stage, so the stage can be removed', () => {
    dev.template(Storage).hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
      DeletionPolicy: 'Delete',
    });
  });
});

describe('the credentials key', () => {
  it('is a customer-managed symmetric key with yearly rotation and the stage alias', () => {
    const t = prod.template(Storage);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, RotationPeriodInDays: 365, PendingWindowInDays: 30 });
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/switchyard/prod' });
  });

  it('is retained in production and scheduled for deletion in a development stage', () => {
    prod.template(Storage).hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    dev.template(Storage).hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });
});

describe('the parameter path', () => {
  it('is /switchyard/<stage>/ and is exported; CloudFormation creates no parameter under it', () => {
    const t = prod.template(Storage);
    t.hasOutput('ParameterPath', { Value: '/switchyard/prod/' });
    t.hasOutput('KeyAlias', {});
    t.hasOutput('TableName', {});
    // config-version must only grow: a template value would reset it on an update.
    // (SST's own binding parameters live under /sst/<app>/<stage>/.)
    const names = Object.values(t.findResources('AWS::SSM::Parameter')).map((r) => String((r as { Properties: { Name: string } }).Properties.Name));
    expect(names.filter((n) => n.startsWith('/switchyard/'))).toEqual([]);
    expect(names.every((n) => n.startsWith('/sst/switchyard/prod/'))).toBe(true);
  });
});

it('stack names carry the stage (SST refuses others) and the app name', () => {
  expect(prod.stack(Storage).stackName).toBe('prod-switchyard-Storage');
});
