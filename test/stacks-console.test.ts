// The deployed web console (stacks/Console.ts), asserted offline: private files behind CloudFront,
// Cognito sign-in with no self sign-up, no unauthenticated identities, and signed-in users holding
// exactly the operator policy (execute-api:Invoke on the API's routes).
import { beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../stacks/Api.ts';
import { Console } from '../stacks/Console.ts';
import { actionsOf, synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';

let synth: OfflineSynth;
type Res = { Type: string; Properties: Record<string, unknown> };
const of = (fn: typeof Console | typeof Api, type: string): [string, Res][] =>
  Object.entries(synth.template(fn).toJSON().Resources as Record<string, Res>).filter(([, r]) => r.Type === type);

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig({ production: true }) });
});

describe('console hosting', () => {
  it('keeps the files in a private bucket that only this distribution reads (origin access control)', () => {
    const buckets = of(Console, 'AWS::S3::Bucket');
    for (const [, b] of buckets) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    }
    const policies = of(Console, 'AWS::S3::BucketPolicy').map(([, p]) => JSON.stringify(p.Properties.PolicyDocument));
    const site = policies.find((p) => p.includes('cloudfront.amazonaws.com'));
    expect(site).toBeDefined();
    expect(site).toContain('"s3:GetObject"');
    expect(site).toContain('AWS:SourceArn');
    expect(site).toMatch(/ConsoleDistribution/);
    // Every bucket refuses plain HTTP.
    for (const p of policies) expect(p).toContain('"aws:SecureTransport":"false"');
    const [, dist] = of(Console, 'AWS::CloudFront::Distribution')[0]!;
    const cfg = dist.Properties.DistributionConfig as { DefaultRootObject: string; DefaultCacheBehavior: { ViewerProtocolPolicy: string; AllowedMethods?: string[] }; Origins: { OriginAccessControlId?: unknown }[] };
    expect(cfg.DefaultRootObject).toBe('index.html');
    expect(cfg.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(cfg.Origins[0]?.OriginAccessControlId).toBeDefined();
    const [, headers] = of(Console, 'AWS::CloudFront::ResponseHeadersPolicy')[0]!;
    const csp = JSON.stringify(headers.Properties);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'self'");
  });
});

describe('console sign-in', () => {
  it('has a user pool an administrator fills (no self sign-up), MFA required, threat protection enforced', () => {
    const [, pool] = of(Console, 'AWS::Cognito::UserPool')[0]!;
    expect(pool.Properties.AdminCreateUserConfig).toMatchObject({ AllowAdminCreateUserOnly: true });
    expect(pool.Properties.MfaConfiguration).toBe('ON');
    expect(pool.Properties.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
    expect(pool.Properties.DeletionProtection).toBe('ACTIVE');
  });

  it('signs in through a public client with the code grant only, back to the distribution', () => {
    const [, client] = of(Console, 'AWS::Cognito::UserPoolClient')[0]!;
    expect(client.Properties.GenerateSecret).toBe(false);
    expect(client.Properties.AllowedOAuthFlows).toEqual(['code']);
    expect(JSON.stringify(client.Properties.CallbackURLs)).toMatch(/ConsoleDistribution.*DomainName/);
  });

  it('gives only signed-in users of this pool a role, and that role only the API operator policy', () => {
    const [, idp] = of(Console, 'AWS::Cognito::IdentityPool')[0]!;
    expect(idp.Properties.AllowUnauthenticatedIdentities).toBe(false);
    expect(idp.Properties.AllowClassicFlow).toBe(false);
    const [, attach] = of(Console, 'AWS::Cognito::IdentityPoolRoleAttachment')[0]!;
    expect(Object.keys(attach.Properties.Roles as object)).toEqual(['authenticated']);
    // (The other role of the stack is SST's own custom-resource handler, assumed by Lambda.)
    const roles = of(Console, 'AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('cognito-identity'));
    expect(roles).toHaveLength(1);
    const [roleId, role] = roles[0]!;
    const trust = role.Properties.AssumeRolePolicyDocument as { Statement: { Action: string; Principal: unknown; Condition: Record<string, Record<string, unknown>> }[] };
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]!.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(trust.Statement[0]!.Principal).toEqual({ Federated: 'cognito-identity.amazonaws.com' });
    expect(trust.Statement[0]!.Condition['ForAnyValue:StringLike']).toEqual({ 'cognito-identity.amazonaws.com:amr': 'authenticated' });
    expect(JSON.stringify(trust.Statement[0]!.Condition.StringEquals)).toContain('ConsoleIdentities');
    // No policy of its own in this stack: the Api stack attaches its OperatorPolicy.
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const [, operator] = of(Api, 'AWS::IAM::ManagedPolicy')[0]!;
    expect(JSON.stringify(operator.Properties.Roles)).toContain(`ExportsOutputRef${roleId}`);
    const statements = (operator.Properties.PolicyDocument as { Statement: Parameters<typeof actionsOf>[0][] }).Statement;
    expect(statements.flatMap(actionsOf)).toEqual(['execute-api:Invoke']);
  });
});
