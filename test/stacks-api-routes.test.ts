// Api stack: the HTTP API serves exactly the control API's routes, every one behind IAM
// authorization, each with its own function carrying the Switchyard environment.
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../stacks/Api.ts';
import { API_ROUTES } from '../stacks/capabilities.ts';
import { synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';

let synth: OfflineSynth;
let t: Template;

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig() });
  t = synth.template(Api);
});

const logicalId = (c: IConstruct): string => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const resources = (): Resources => t.toJSON().Resources as Resources;
const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);

// The routes the issue lists, written out here so a change to the route table is a visible change.
const EXPECTED_ROUTES = [
  'POST /tenants',
  'GET /tenants',
  'GET /tenants/{id}',
  'PATCH /tenants/{id}',
  'DELETE /tenants/{id}',
  'POST /tenants/{id}/rotate-password',
  'GET /tenants/{id}/metrics',
  'GET /tenants/{id}/statements',
  'POST /clusters',
  'GET /clusters',
  'GET /clusters/{id}',
  'PATCH /clusters/{id}',
  'DELETE /clusters/{id}',
  'GET /poolers',
  'GET /openapi.json',
];

describe('the HTTP API', () => {
  it('is one HTTP API with exactly the control routes', () => {
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const keys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual([...EXPECTED_ROUTES].sort());
    expect(API_ROUTES.map((r) => r.route).sort()).toEqual([...EXPECTED_ROUTES].sort());
  });

  it('requires IAM (SigV4) authorization on every route', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    expect(routes.length).toBe(EXPECTED_ROUTES.length);
    for (const [, r] of routes) expect(r.Properties.AuthorizationType, String(r.Properties.RouteKey)).toBe('AWS_IAM');
    t.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('sends each route to its own function, the one named in the route table', () => {
    const integrations = new Map(ofType('AWS::ApiGatewayV2::Integration').map(([id, r]) => [id, r.Properties]));
    const targets = new Set<string>();
    for (const spec of API_ROUTES) {
      const [, route] = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === spec.route) ?? [];
      const integrationId = JSON.stringify(route?.Properties.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
      const uri = JSON.stringify(integrations.get(integrationId)?.IntegrationUri);
      const fnId = logicalId(synth.stack(Api).node.findChild(spec.id));
      expect(uri, spec.route).toBe(JSON.stringify({ 'Fn::GetAtt': [fnId, 'Arn'] }));
      targets.add(fnId);
    }
    expect(targets.size).toBe(API_ROUTES.length);
  });

  it('allows cross-origin calls from the web console\'s distribution only, and writes access logs', () => {
    const api = ofType('AWS::ApiGatewayV2::Api')[0]?.[1];
    const cors = api?.Properties.CorsConfiguration as { AllowOrigins: unknown[]; AllowCredentials?: boolean; AllowMethods: string[] };
    expect(cors.AllowOrigins).toHaveLength(1);
    expect(JSON.stringify(cors.AllowOrigins[0])).toMatch(/test-switchyard-Console:ExportsOutputFnGetAttConsoleDistribution[0-9A-F]+DomainName/);
    // No cookies: every call carries its own SigV4 signature.
    expect(cors.AllowCredentials).not.toBe(true);
    expect([...cors.AllowMethods].sort()).toEqual(['DELETE', 'GET', 'PATCH', 'POST']);
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0]?.[1];
    expect(stage?.Properties.StageName).toBe('$default');
    expect(JSON.stringify(stage?.Properties.AccessLogSettings)).toContain('ApiAccessLogs');
  });
});

describe('the functions', () => {
  it('all get the Switchyard environment (table, key, stage, pooler tag) on Node 22, arm64, with X-Ray', () => {
    for (const spec of API_ROUTES) {
      const fn = resources()[logicalId(synth.stack(Api).node.findChild(spec.id))];
      const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(JSON.stringify(env.SWITCHYARD_TABLE), spec.id).toMatch(/test-switchyard-Storage:ExportsOutputRefTable/);
      expect(JSON.stringify(env.SWITCHYARD_KMS_KEY_ID), spec.id).toMatch(/test-switchyard-Storage:ExportsOutputFnGetAttCredentialsKey[0-9A-F]+Arn/);
      expect(env.SWITCHYARD_STAGE).toBe('test');
      expect(env.SWITCHYARD_POOLER_TAG).toBe('switchyard:role=pooler');
      expect(fn?.Properties.Runtime).toBe('nodejs22.x');
      expect(fn?.Properties.Architectures).toEqual(['arm64']);
      expect(fn?.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('each has its own role and its own log group with the stage retention', () => {
    const roles = new Set<string>();
    for (const spec of API_ROUTES) {
      const fn = resources()[logicalId(synth.stack(Api).node.findChild(spec.id))];
      roles.add(JSON.stringify(fn?.Properties.Role));
      const logGroupRef = (fn?.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(resources()[logGroupRef]?.Properties.RetentionInDays).toBe(30);
    }
    expect(roles.size).toBe(API_ROUTES.length);
  });

  it('only the functions that connect to databases run in the stage subnets, with TLS verification to RDS', () => {
    const dbClients = ofType('AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('DatabaseClientsSecurityGroup'))?.[0];
    expect(dbClients).toBeDefined();
    for (const spec of API_ROUTES) {
      const fn = resources()[logicalId(synth.stack(Api).node.findChild(spec.id))];
      const vpc = fn?.Properties.VpcConfig as { SubnetIds: string[]; SecurityGroupIds: unknown[] } | undefined;
      const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      if (spec.databaseAccess) {
        expect(vpc?.SubnetIds, spec.id).toEqual(['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2']);
        expect(vpc?.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [dbClients, 'GroupId'] }]);
        expect(env.SWITCHYARD_TARGET_SSLMODE).toBe('verify-full');
        expect(env.NODE_EXTRA_CA_CERTS).toBe('/var/runtime/ca-cert.pem');
      } else {
        expect(vpc, spec.id).toBeUndefined();
      }
    }
    expect(API_ROUTES.filter((r) => r.databaseAccess).map((r) => r.route).sort()).toEqual(['DELETE /tenants/{id}', 'GET /tenants/{id}/metrics', 'POST /tenants']);
  });
});

describe('the operator policy', () => {
  it('allows execute-api:Invoke on exactly the API routes of the $default stage', () => {
    const [, policy] = ofType('AWS::IAM::ManagedPolicy')[0] ?? [];
    const doc = policy?.Properties.PolicyDocument as { Statement: { Action: string; Resource: unknown[] }[] };
    expect(doc.Statement).toHaveLength(1);
    expect(doc.Statement[0]?.Action).toBe('execute-api:Invoke');
    const paths = (doc.Statement[0]?.Resource ?? []).map((r) => JSON.stringify(r).match(/\/\$default\/([A-Z]+)([^"]*)"/)?.slice(1).join(' '));
    expect(paths.sort()).toEqual(EXPECTED_ROUTES.map((r) => r.replace(/\{[^}]+\}/g, '*')).sort());
  });
});
