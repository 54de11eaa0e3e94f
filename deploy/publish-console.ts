// Publishes the web console of a deployed stage: uploads web/dist (built by scripts/setup.sh) to the
// Console stack's bucket, writes /config.json (the API URL and the Cognito ids the console signs in
// with, from the stacks' outputs) and invalidates the HTML and config at CloudFront. Run after
// `sst deploy` (docs/deploy.md, "Web console"):
//
//   npm run console:publish -- --stage <stage> [--region <region>]
//
// Hashed assets (web/dist/assets) are cached for a year and never deleted here (a browser holding
// yesterday's index.html can still load its scripts); the HTML and config.json are revalidated.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CONSOLE_CONTENT_TYPES } from '../local/console-static.ts';


export interface UploadItem {
  key: string;
  file?: string;
  body?: string;
  contentType: string;
  cacheControl: string;
}

/** What the console reads from /config.json (web/src/env.ts). */
export interface ConsoleConfig {
  stage: string;
  apiUrl: string;
  region: string;
  userPoolId: string;
  userPoolClientId: string;
  identityPoolId: string;
  authDomain: string;
  pooler?: { host: string; port: number };
}

export function consoleConfig(stage: string, region: string, outputs: Record<string, string>): ConsoleConfig {
  const need = (k: string): string => {
    const v = outputs[k];
    if (!v) throw new Error(`stack output ${k} is missing: deploy the stage first (npx sst deploy --stage ${stage})`);
    return v;
  };
  const cfg: ConsoleConfig = {
    stage,
    apiUrl: need('ApiEndpoint'),
    region,
    userPoolId: need('ConsoleUserPoolId'),
    userPoolClientId: need('ConsoleUserPoolClientId'),
    identityPoolId: need('ConsoleIdentityPoolId'),
    authDomain: need('ConsoleAuthDomain'),
  };
  const m = /^(.+):(\d+)$/.exec(outputs.PoolerEndpoint ?? '');
  if (m) cfg.pooler = { host: m[1]!, port: Number(m[2]) };
  return cfg;
}

/** Every file of the build (not the build stamp), then config.json. */
export function uploadPlan(distDir: string, config: ConsoleConfig): UploadItem[] {
  const items: UploadItem[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name !== '.built') {
        const key = relative(distDir, p).split('\\').join('/');
        items.push({
          key,
          file: p,
          contentType: CONSOLE_CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
          cacheControl: key.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
      }
    }
  };
  walk(distDir);
  if (!items.some((i) => i.key === 'index.html')) throw new Error(`${distDir} has no index.html: run \`sh scripts/setup.sh\` to build the console`);
  items.push({ key: 'config.json', body: JSON.stringify(config, null, 2) + '\n', contentType: CONSOLE_CONTENT_TYPES['.json']!, cacheControl: 'no-cache' });
  return items;
}

async function outputsOf(cf: CloudFormationClient, stackNames: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const StackName of stackNames) {
    const res = await cf.send(new DescribeStacksCommand({ StackName }));
    for (const o of res.Stacks?.[0]?.Outputs ?? []) if (o.OutputKey && o.OutputValue) out[o.OutputKey] = o.OutputValue;
  }
  return out;
}

export async function publishConsole(opts: { stage: string; region: string; root: string }): Promise<{ url: string; files: number }> {
  const stackName = (s: string): string => `${opts.stage}-switchyard-${s}`;
  const cf = new CloudFormationClient({ region: opts.region });
  const outputs = await outputsOf(cf, [stackName('Console'), stackName('Api'), stackName('PoolerFleet')]);
  const plan = uploadPlan(join(opts.root, 'web', 'dist'), consoleConfig(opts.stage, opts.region, outputs));
  const s3 = new S3Client({ region: opts.region });
  const bucket = outputs.ConsoleBucket;
  if (!bucket || !outputs.ConsoleDistributionId) throw new Error('the Console stack outputs are missing: deploy the stage first');
  for (const item of plan) {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: item.key, Body: item.body ?? readFileSync(item.file!), ContentType: item.contentType, CacheControl: item.cacheControl }),
    );
  }
  const cloudfront = new CloudFrontClient({ region: 'us-east-1' });
  await cloudfront.send(
    new CreateInvalidationCommand({
      DistributionId: outputs.ConsoleDistributionId,
      InvalidationBatch: { CallerReference: `switchyard-console-${Date.now()}`, Paths: { Quantity: 4, Items: ['/', '/index.html', '/api.html', '/config.json'] } },
    }),
  );
  return { url: outputs.ConsoleUrl ?? '', files: plan.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { stage: { type: 'string' }, region: { type: 'string' } } });
  if (!values.stage) {
    process.stderr.write('usage: npm run console:publish -- --stage <stage> [--region <region>]\n');
    process.exit(2);
  }
  const root = resolve(import.meta.dirname, '..');
  const r = await publishConsole({ stage: values.stage, region: values.region ?? process.env.AWS_REGION ?? 'eu-west-1', root });
  process.stdout.write(`published ${r.files} files; the console is at ${r.url}\n`);
}
