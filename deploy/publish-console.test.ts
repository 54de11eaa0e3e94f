// Request shapes of the console publish step (aws-sdk-client-mock): outputs read from the stage's
// stacks, every build file uploaded with its type and caching, config.json from the outputs, and
// an invalidation of the HTML and config.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { publishConsole } from './publish-console.ts';

const cf = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
const cloudfront = mockClient(CloudFrontClient);
let root: string;

const OUTPUTS: Record<string, Record<string, string>> = {
  'dev-switchyard-Console': {
    ConsoleBucket: 'site-bucket',
    ConsoleDistributionId: 'E123',
    ConsoleUrl: 'https://d111.cloudfront.net/',
    ConsoleUserPoolId: 'eu-west-1_abc',
    ConsoleUserPoolClientId: 'client123',
    ConsoleIdentityPoolId: 'eu-west-1:1111-2222',
    ConsoleAuthDomain: 'https://switchyard-dev-123.auth.eu-west-1.amazoncognito.com',
  },
  'dev-switchyard-Api': { ApiEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com' },
  'dev-switchyard-PoolerFleet': { PoolerEndpoint: 'nlb-1.elb.eu-west-1.amazonaws.com:5432' },
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'switchyard-publish-'));
  mkdirSync(join(root, 'web', 'dist', 'assets'), { recursive: true });
  writeFileSync(join(root, 'web', 'dist', 'index.html'), '<!doctype html>');
  writeFileSync(join(root, 'web', 'dist', '.built'), '');
  writeFileSync(join(root, 'web', 'dist', 'assets', 'main-abc.js'), 'x');
  cf.reset();
  s3.reset();
  cloudfront.reset();
  for (const [StackName, o] of Object.entries(OUTPUTS)) {
    cf.on(DescribeStacksCommand, { StackName }).resolves({ Stacks: [{ StackName, CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: Object.entries(o).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
  }
  s3.on(PutObjectCommand).resolves({});
  cloudfront.on(CreateInvalidationCommand).resolves({});
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('uploads the build and config.json, then invalidates the HTML and config', async () => {
  const r = await publishConsole({ stage: 'dev', region: 'eu-west-1', root });
  expect(r).toEqual({ url: 'https://d111.cloudfront.net/', files: 3 });
  const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
  expect(puts.map((p) => [p.Bucket, p.Key, p.ContentType, p.CacheControl])).toEqual([
    ['site-bucket', 'assets/main-abc.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['site-bucket', 'index.html', 'text/html; charset=utf-8', 'no-cache'],
    ['site-bucket', 'config.json', 'application/json; charset=utf-8', 'no-cache'],
  ]);
  expect(JSON.parse(String(puts[2]!.Body))).toEqual({
    stage: 'dev',
    apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_abc',
    userPoolClientId: 'client123',
    identityPoolId: 'eu-west-1:1111-2222',
    authDomain: 'https://switchyard-dev-123.auth.eu-west-1.amazoncognito.com',
    pooler: { host: 'nlb-1.elb.eu-west-1.amazonaws.com', port: 5432 },
  });
  const inv = cloudfront.commandCalls(CreateInvalidationCommand)[0]!.args[0].input;
  expect(inv.DistributionId).toBe('E123');
  expect(inv.InvalidationBatch?.Paths?.Items).toEqual(['/', '/index.html', '/api.html', '/config.json']);
});

it('refuses to publish a stage whose Console stack is not deployed, before uploading anything', async () => {
  cf.on(DescribeStacksCommand, { StackName: 'dev-switchyard-Console' }).resolves({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });
  await expect(publishConsole({ stage: 'dev', region: 'eu-west-1', root })).rejects.toThrow(/ConsoleUserPoolId is missing/);
  expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
});
