// Api stack: each function's role holds exactly what its handler calls: only the table, only the
// credentials key under the encryption-context condition, only the stage's parameter path, and
// SendCommand only to this stage's tagged poolers.
import { CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { Function as SstFunction } from 'sst/constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../stacks/Api.ts';
import { API_ROUTES } from '../stacks/capabilities.ts';
import { actionsOf, resourcesOf, roleStatements, synthOffline, testStageConfig, type OfflineSynth, type TemplateStatement } from '../stacks/offline-synth.ts';

let synth: OfflineSynth;
let t: Template;

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig() });
  t = synth.template(Api);
});

function statementsOf(id: string): TemplateStatement[] {
  const fn = synth.stack(Api).node.findChild(id) as SstFunction;
  const role = fn.role?.node.defaultChild as CfnElement;
  return roleStatements(t, Stack.of(fn).getLogicalId(role));
}

const XRAY = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
const ENI = ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'];
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const READ = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'];
const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
const ANNOUNCE = [...WRITE, 'ssm:PutParameter', 'ssm:SendCommand'];
const PARAMS_READ = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'];
const RDS = ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'];
const ADMIN_SECRET = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];

// What each handler calls (functions/api/*.ts through shared/src/aws/*), written out by hand.
const EXPECTED: Record<string, string[]> = {
  TenantsCreate: [...READ, ...ANNOUNCE, 'kms:Encrypt', 'kms:Decrypt', ...ADMIN_SECRET, ...ENI],
  TenantsList: READ,
  TenantsGet: READ,
  TenantsUpdate: [...READ, ...ANNOUNCE, 'kms:Encrypt', 'kms:Decrypt'],
  TenantsDelete: [...READ, ...ANNOUNCE, 'kms:Decrypt', ...ADMIN_SECRET, ...ENI],
  TenantsRotatePassword: [...READ, ...ANNOUNCE],
  TenantsMetrics: [...READ, 'kms:Decrypt', ...ADMIN_SECRET, ...ENI],
  TenantsStatements: READ,
  ClustersCreate: [...READ, ...ANNOUNCE, ...PARAMS_READ, 'ssm:DeleteParameter', 'kms:Encrypt', 'kms:Decrypt', ...RDS],
  ClustersDelete: [...READ, ...ANNOUNCE, 'ssm:DeleteParameter'],
  ClustersList: READ,
  ClustersGet: READ,
  ClustersUpdate: [...READ, ...ANNOUNCE],
  PoolersList: [...READ, ...PARAMS_READ],
  OpenApi: [],
};

describe('each function role', () => {
  it('allows exactly the actions its handler needs (beyond its own logs and X-Ray)', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(API_ROUTES.map((r) => r.id).sort());
    for (const spec of API_ROUTES) {
      const actions = new Set(statementsOf(spec.id).flatMap(actionsOf));
      for (const a of [...LOGS, ...XRAY]) actions.delete(a);
      expect([...actions].sort(), spec.id).toEqual([...new Set(EXPECTED[spec.id])].sort());
    }
  });

  it('never allows a wildcard action, and "*" resources only for X-Ray and the VPC attachment', () => {
    for (const spec of API_ROUTES) {
      for (const s of statementsOf(spec.id)) {
        expect(s.Effect).toBe('Allow');
        for (const a of actionsOf(s)) expect(a, spec.id).not.toMatch(/\*/);
        if (resourcesOf(s).includes('*')) expect([...XRAY, ...ENI], `${spec.id} ${actionsOf(s).join(',')}`).toEqual(expect.arrayContaining(actionsOf(s)));
      }
    }
  });

  it('writes its logs only to its own log group', () => {
    for (const spec of API_ROUTES) {
      const logs = statementsOf(spec.id).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logs, spec.id).toHaveLength(1);
      const logGroupId = JSON.stringify(logs[0]?.Resource).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1];
      expect(logGroupId, spec.id).toMatch(new RegExp(`^${spec.id}Logs`));
    }
  });
});

describe('the table', () => {
  it('is the only DynamoDB resource: reads on the table and the byCluster index, writes on the table only', () => {
    for (const spec of API_ROUTES) {
      for (const s of statementsOf(spec.id).filter((x) => actionsOf(x).some((a) => a.startsWith('dynamodb:')))) {
        const rs = resourcesOf(s).map((r) => JSON.stringify(r));
        const writes = actionsOf(s).some((a) => WRITE.includes(a));
        expect(rs.length, spec.id).toBe(writes ? 1 : 2);
        expect(rs[0]).toMatch(/^\{"Fn::ImportValue":"test-switchyard-Storage:ExportsOutputFnGetAttTable[0-9A-F]+Arn[0-9A-F]+"\}$/);
        if (!writes) expect(rs[1]).toMatch(/"\/index\/byCluster"/);
      }
    }
  });
});

describe('the credentials key', () => {
  it('statement ids are unique within each policy (IAM rejects a policy with a repeated Sid)', () => {
    // IAM user guide, "IAM JSON policy elements: Sid": "In IAM, the Sid value must be unique within
    // a JSON policy." A role with both a tenant- and a cluster-scoped decrypt grant had two KeyDecrypt.
    const docs: { where: string; statements: { Sid?: string }[] }[] = [];
    const resources = (t.toJSON().Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
        docs.push({ where: id, statements: (r.Properties?.PolicyDocument as { Statement: { Sid?: string }[] }).Statement });
      }
      if (r.Type === 'AWS::IAM::Role') {
        for (const p of (r.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: { Statement: { Sid?: string }[] } }[]) {
          docs.push({ where: `${id}/${p.PolicyName}`, statements: p.PolicyDocument.Statement });
        }
      }
    }
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      const sids = d.statements.flatMap((st) => (st.Sid === undefined ? [] : [st.Sid]));
      expect(sids.filter((x, i) => sids.indexOf(x) !== i), d.where).toEqual([]);
    }
  });

  const kmsStatements = () => API_ROUTES.flatMap((spec) => statementsOf(spec.id).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:'))).map((s) => ({ spec, s })));

  it('is the only key, used only with an encryption context made of tenantId/clusterId', () => {
    expect(kmsStatements().length).toBeGreaterThan(0);
    for (const { spec, s } of kmsStatements()) {
      expect(JSON.stringify(s.Resource), spec.id).toMatch(/^\{"Fn::ImportValue":"test-switchyard-Storage:ExportsOutputFnGetAttCredentialsKey[0-9A-F]+Arn[0-9A-F]+"\}$/);
      expect(s.Condition?.['ForAllValues:StringEquals'], spec.id).toEqual({ 'kms:EncryptionContextKeys': ['tenantId', 'clusterId'] });
      // Without this, ForAllValues would also accept a request with no context at all.
      expect(s.Condition?.Null?.['kms:EncryptionContextKeys'], spec.id).toBe('false');
    }
  });

  it('requires the tenantId context for tenant passwords and the clusterId context for admin credentials', () => {
    const required = (id: string, action: string) =>
      statementsOf(id)
        .filter((s) => actionsOf(s).includes(action))
        .map((s) => Object.entries(s.Condition?.Null ?? {}).filter(([k, v]) => k.startsWith('kms:EncryptionContext:') && v === 'false').map(([k]) => k).sort());
    expect(required('TenantsCreate', 'kms:Encrypt')).toEqual([['kms:EncryptionContext:tenantId']]);
    expect(required('TenantsCreate', 'kms:Decrypt')).toEqual(expect.arrayContaining([['kms:EncryptionContext:tenantId'], ['kms:EncryptionContext:clusterId']]));
    expect(required('ClustersCreate', 'kms:Encrypt')).toEqual([['kms:EncryptionContext:clusterId']]);
    expect(required('ClustersCreate', 'kms:Decrypt')).toEqual([['kms:EncryptionContext:clusterId']]);
    expect(required('TenantsDelete', 'kms:Decrypt')).toEqual([['kms:EncryptionContext:clusterId']]);
    // Moving a tenant re-encrypts its own destination password: tenant-scoped only.
    expect(required('TenantsUpdate', 'kms:Encrypt')).toEqual([['kms:EncryptionContext:tenantId']]);
    expect(required('TenantsUpdate', 'kms:Decrypt')).toEqual([['kms:EncryptionContext:tenantId']]);
  });

  it('a cluster-scoped grant cannot open a tenant secret: it requires tenantId to be ABSENT from the context', () => {
    // Tenant contexts are { tenantId, clusterId }: without this, "clusterId present" alone would let
    // a function that may decrypt cluster admin credentials decrypt every tenant's password too.
    const grants = kmsStatements().map(({ spec, s }) => ({ id: spec.id, isNull: s.Condition?.Null ?? {} }));
    const clusterScoped = grants.filter((g) => g.isNull['kms:EncryptionContext:clusterId'] === 'false');
    expect(clusterScoped.map((g) => g.id).sort()).toEqual(['ClustersCreate', 'ClustersCreate', 'TenantsCreate', 'TenantsDelete', 'TenantsMetrics']);
    for (const g of clusterScoped) expect(g.isNull['kms:EncryptionContext:tenantId'], g.id).toBe('true');
    // And the tenant-scoped grants require it present (not both at once in one statement).
    for (const g of grants.filter((x) => x.isNull['kms:EncryptionContext:clusterId'] === undefined)) expect(g.isNull['kms:EncryptionContext:tenantId'], g.id).toBe('false');
  });
});

describe('parameters and the reload push', () => {
  it('touch only /switchyard/<stage>/ parameters', () => {
    for (const spec of API_ROUTES) {
      for (const s of statementsOf(spec.id).filter((x) => actionsOf(x).some((a) => /^ssm:(Get|Put)Parameter/.test(a)))) {
        for (const r of resourcesOf(s)) expect(JSON.stringify(r), spec.id).toMatch(/:ssm:eu-west-1:123456789012:parameter\/switchyard\/test(\/\*)?"\]\]\}$/);
        if (actionsOf(s).includes('ssm:PutParameter')) expect(resourcesOf(s)).toHaveLength(1);
      }
    }
  });

  it('DeleteParameter: only ClustersDelete and ClustersCreate (targets a deleted cluster of the same id left), only this stage\'s clusters/<id> parameters (never the config version)', () => {
    const deleters = API_ROUTES.filter((r) => statementsOf(r.id).some((s) => actionsOf(s).includes('ssm:DeleteParameter'))).map((r) => r.id);
    expect(deleters.sort()).toEqual(['ClustersCreate', 'ClustersDelete']);
    for (const id of deleters) {
      const [del] = statementsOf(id).filter((s) => actionsOf(s).includes('ssm:DeleteParameter'));
      expect(actionsOf(del!)).toEqual(['ssm:DeleteParameter']);
      expect(resourcesOf(del!).map((r) => JSON.stringify(r))).toEqual([expect.stringMatching(/:ssm:eu-west-1:123456789012:parameter\/switchyard\/test\/clusters\/\*"\]\]\}$/)]);
    }
  });

  it('SendCommand reaches only AWS-RunShellScript and instances tagged as this stage\'s poolers', () => {
    for (const spec of API_ROUTES.filter((r) => EXPECTED[r.id]?.includes('ssm:SendCommand'))) {
      const send = statementsOf(spec.id).filter((s) => actionsOf(s).includes('ssm:SendCommand'));
      expect(send, spec.id).toHaveLength(2);
      const [doc, instances] = [send.find((s) => JSON.stringify(s.Resource).includes('document')), send.find((s) => JSON.stringify(s.Resource).includes('instance'))];
      expect(JSON.stringify(doc?.Resource)).toMatch(/:ssm:eu-west-1::document\/AWS-RunShellScript"\]\]\}$/);
      expect(JSON.stringify(instances?.Resource)).toMatch(/:ec2:eu-west-1:123456789012:instance\/\*"\]\]\}$/);
      expect(instances?.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/switchyard:role': 'pooler', 'ssm:resourceTag/switchyard:stage': 'test' } });
    }
  });

  it('RDS describe calls name the configured Aurora cluster; instances by region', () => {
    const rds = statementsOf('ClustersCreate').filter((s) => actionsOf(s).some((a) => a.startsWith('rds:')));
    const clusters = rds.find((s) => actionsOf(s).includes('rds:DescribeDBClusters'));
    expect(JSON.stringify(clusters?.Resource)).toMatch(/:rds:eu-west-1:123456789012:cluster:orders-aurora"\]\]\}$/);
    const instances = rds.find((s) => actionsOf(s).includes('rds:DescribeDBInstances'));
    expect(JSON.stringify(instances?.Resource)).toMatch(/:rds:eu-west-1:123456789012:db:\*"\]\]\}$/);
  });
});

describe('cluster admin secrets', () => {
  const secretStatements = (id: string) => statementsOf(id).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));

  it('only the functions that act as a cluster\'s admin may read them: RDS-managed (rds!*) secrets of this account and region, only those RDS tagged for a configured cluster or instance', () => {
    const readers = API_ROUTES.filter((r) => secretStatements(r.id).length > 0).map((r) => r.id).sort();
    expect(readers).toEqual(['TenantsCreate', 'TenantsDelete', 'TenantsMetrics']);
    const rdsSecrets = '{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:eu-west-1:123456789012:secret:rds!*"]]}';
    const rdsArn = (resource: string) => `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":rds:eu-west-1:123456789012:${resource}"]]}`;
    for (const id of readers) {
      const statements = secretStatements(id);
      expect(statements.map((s) => s.Sid), id).toEqual(['ClusterAdminSecretReadAurora', 'ClusterAdminSecretReadInstance']);
      for (const s of statements) {
        expect(actionsOf(s)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
        expect(resourcesOf(s).map((r) => JSON.stringify(r))).toEqual([rdsSecrets]);
      }
      // The stage's aurora cluster and its RDS instance; the static cluster gets no secret at all.
      const [aurora, instance] = statements;
      expect(JSON.stringify(aurora!.Condition)).toBe(JSON.stringify({ StringEquals: { 'secretsmanager:ResourceTag/aws:rds:primaryDBClusterArn': [JSON.parse(rdsArn('cluster:orders-aurora'))] } }));
      expect(JSON.stringify(instance!.Condition)).toBe(JSON.stringify({ StringEquals: { 'secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn': [JSON.parse(rdsArn('db:billing-db'))] } }));
    }
  });

  it('need no KMS grant when no cluster names a customer managed key for its secret (aws/secretsmanager allows it)', () => {
    for (const spec of API_ROUTES) expect(statementsOf(spec.id).some((s) => s.Sid === 'ClusterAdminSecretKeyDecrypt'), spec.id).toBe(false);
  });
});
