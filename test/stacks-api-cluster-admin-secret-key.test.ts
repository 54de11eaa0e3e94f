// A stage whose clusters keep their admin secret under a customer managed KMS key, one of them in
// another region: the provisioning functions may read rds!* secrets in both regions and decrypt
// with exactly the named keys, only through Secrets Manager and only for rds!* secrets; cdk-nag
// stays clean; a malformed key ARN fails the stage config.
import { CfnElement, Stack } from 'aws-cdk-lib';
import type { Function as SstFunction } from 'sst/constructs';
import { beforeAll, expect, it } from 'vitest';
import { Api } from '../stacks/Api.ts';
import { API_ROUTES } from '../stacks/capabilities.ts';
import { actionsOf, resourcesOf, roleStatements, synthOffline, testStageConfig, type OfflineSynth, type TemplateStatement } from '../stacks/offline-synth.ts';
import { parseStageConfig } from '../stacks/settings.ts';

const KEY_EU = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_US = 'arn:aws:kms:us-east-2:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab';

const config = () =>
  testStageConfig({
    clusters: [
      { id: 'orders', kind: 'aurora', rdsIdentifier: 'orders-aurora', securityGroupId: 'sg-0ddddddddddddddd1', adminSecretKmsKeyArn: KEY_EU },
      { id: 'reports', kind: 'rds-instance', rdsIdentifier: 'reports-db', region: 'us-east-2', cidr: '10.30.0.0/16', adminSecretKmsKeyArn: KEY_US },
      // Same key twice: granted once.
      { id: 'billing', kind: 'rds-instance', rdsIdentifier: 'billing-db', securityGroupId: 'sg-0ddddddddddddddd2', adminSecretKmsKeyArn: KEY_EU },
    ],
  });

let synth: OfflineSynth;
beforeAll(async () => {
  synth = await synthOffline({ stage: 'keyed', config: config() });
});

function statementsOf(id: string): TemplateStatement[] {
  const fn = synth.stack(Api).node.findChild(id) as SstFunction;
  const role = fn.role?.node.defaultChild as CfnElement;
  return roleStatements(synth.template(Api), Stack.of(fn).getLogicalId(role));
}

const secretArn = (region: string) => `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:${region}:123456789012:secret:rds!*"]]}`;

const rdsArn = (region: string, resource: string) => JSON.parse(`{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":rds:${region}:123456789012:${resource}"]]}`) as unknown;

it.each(['TenantsCreate', 'TenantsDelete', 'TenantsMetrics'])('%s reads rds!* secrets in the stage\'s and the clusters\' regions, of the configured clusters and instances only', (id) => {
  const aurora = statementsOf(id).find((s) => s.Sid === 'ClusterAdminSecretReadAurora');
  const instance = statementsOf(id).find((s) => s.Sid === 'ClusterAdminSecretReadInstance');
  for (const s of [aurora, instance]) expect(s && resourcesOf(s).map((r) => JSON.stringify(r))).toEqual([secretArn('eu-west-1'), secretArn('us-east-2')]);
  expect(aurora?.Condition?.StringEquals?.['secretsmanager:ResourceTag/aws:rds:primaryDBClusterArn']).toEqual([rdsArn('eu-west-1', 'cluster:orders-aurora')]);
  expect(instance?.Condition?.StringEquals?.['secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn']).toEqual([rdsArn('us-east-2', 'db:reports-db'), rdsArn('eu-west-1', 'db:billing-db')]);
});

it.each(['TenantsCreate', 'TenantsDelete', 'TenantsMetrics'])('%s decrypts with exactly the named keys, via Secrets Manager, for rds!* secrets only', (id) => {
  const decrypt = statementsOf(id).filter((s) => s.Sid === 'ClusterAdminSecretKeyDecrypt');
  expect(decrypt).toHaveLength(1);
  const s = decrypt[0]!;
  expect(actionsOf(s)).toEqual(['kms:Decrypt']);
  expect(resourcesOf(s)).toEqual([KEY_EU, KEY_US]);
  expect(JSON.stringify(s.Condition?.StringEquals?.['kms:ViaService'])).toBe(
    JSON.stringify([
      { 'Fn::Join': ['', ['secretsmanager.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] },
      { 'Fn::Join': ['', ['secretsmanager.us-east-2.', { Ref: 'AWS::URLSuffix' }]] },
    ]),
  );
  expect((s.Condition?.StringLike?.['kms:EncryptionContext:SecretARN'] as unknown[]).map((r) => JSON.stringify(r))).toEqual([secretArn('eu-west-1'), secretArn('us-east-2')]);
});

it('grants the customer managed keys to no other function', () => {
  const holders = API_ROUTES.filter((r) => statementsOf(r.id).some((s) => JSON.stringify(s.Resource).includes('1234abcd'))).map((r) => r.id);
  expect(holders.sort()).toEqual(['TenantsCreate', 'TenantsDelete', 'TenantsMetrics']);
});

it('leaves no unsuppressed cdk-nag finding', () => {
  expect(synth.findings(Api).map((f) => `${f.level} ${f.id}: ${String(f.entry.data).split(':')[0]}`)).toEqual([]);
});

it('refuses a key given as an alias or a bare id', () => {
  const withKey = (adminSecretKmsKeyArn: string) => () =>
    parseStageConfig({ ...config(), clusters: [{ id: 'orders', kind: 'aurora', rdsIdentifier: 'orders-aurora', securityGroupId: 'sg-0ddddddddddddddd1', adminSecretKmsKeyArn }] }, 'bad.json');
  expect(withKey('alias/aws/secretsmanager')).toThrow(/clusters\.0\.adminSecretKmsKeyArn: must be a KMS key ARN/);
  expect(withKey('1234abcd-12ab-34cd-56ef-1234567890ab')).toThrow(/must be a KMS key ARN/);
  expect(withKey(KEY_EU)).not.toThrow();
});
