// Synthesizes the whole Switchyard app with no AWS access: the tests use it, and so can anyone who
// wants to read the templates (`sst build` needs credentials; this does not).
//
// How SST v2 is kept offline:
// - NODE_ENV=test is SST's own test switch (App.isRunningSSTTest): App.finish() then skips the
//   bootstrap-stack lookup (an AWS call) and the sourcemap uploader that depends on it.
// - Function bundling is skipped with SST's inactive-stack mechanism: an App whose
//   `isActiveStack` returns false gives every Function inline placeholder code instead of queueing
//   an esbuild bundle (what `sst deploy <filter>` does for stacks outside the filter). Every other
//   property (role, environment, VPC, timeouts, retries, log group) is synthesized exactly as in a
//   deploy; only Code and Handler differ. NODE_ENV=test alone is not enough: SST skips bundling in
//   test mode only for `sst dev` live functions, a deploy-mode Function still builds.
// - initProject() loads a minimal config from a private temp root, so the per-app `.sst/types`
//   files SST writes never collide between test files running in parallel.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly, SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { App, getStack } from 'sst/constructs';
import type { FunctionalStack } from 'sst/constructs/FunctionalStack.js';
import { initProject } from 'sst/project.js';
import { STACKS, switchyardApp } from './app.ts';
import { parseStageConfig, type StageConfig, type StageConfigInput } from './settings.ts';

export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'eu-west-1';

export interface OfflineSynthOptions {
  readonly stage?: string;
  readonly config: StageConfigInput | StageConfig;
  /** A directory standing in for the pooler bundle (any content; it becomes an asset). */
  readonly poolerBundleDir?: string;
}

export interface OfflineSynth {
  readonly app: App;
  readonly assembly: CloudAssembly;
  readonly config: StageConfig;
  stack(fn: FunctionalStack<unknown>): Stack;
  template(fn: FunctionalStack<unknown>): Template;
  /** Errors and warnings of a stack (cdk-nag findings among them). */
  findings(fn: FunctionalStack<unknown>): SynthesisMessage[];
}

let projectRoot: string | undefined;

async function initOfflineProject(stage: string): Promise<void> {
  projectRoot ??= (() => {
    const root = mkdtempSync(join(tmpdir(), 'switchyard-sst-'));
    writeFileSync(join(root, 'package.json'), '{ "name": "switchyard-offline-synth", "type": "module", "private": true }\n');
    writeFileSync(join(root, 'sst.config.mjs'), `export default { config() { return { name: 'switchyard', region: '${TEST_REGION}' }; }, stacks() {} };\n`);
    return root;
  })();
  await initProject({ root: projectRoot, stage });
}

function placeholderBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bundle-'));
  writeFileSync(join(dir, 'main.js'), '// placeholder pooler bundle for offline synth\n');
  return dir;
}

export async function synthOffline(opts: OfflineSynthOptions): Promise<OfflineSynth> {
  process.env.NODE_ENV = 'test';
  const stage = opts.stage ?? 'test';
  const config = parseStageConfig(opts.config, 'offline synth');
  await initOfflineProject(stage);
  const app = new App({ mode: 'deploy', stage, name: 'switchyard', region: TEST_REGION, account: TEST_ACCOUNT, isActiveStack: () => false });
  switchyardApp(app, { config, poolerBundleDir: opts.poolerBundleDir ?? placeholderBundle() });
  // getStack() answers for the most recently built app: capture this app's stacks now.
  const stacks = new Map<FunctionalStack<unknown>, Stack>(STACKS.map((fn) => [fn as FunctionalStack<unknown>, getStack(fn)]));
  await app.finish();
  const assembly = app.synth();
  const stackOf = (fn: FunctionalStack<unknown>): Stack => {
    const s = stacks.get(fn);
    if (!s) throw new Error(`stack ${fn.name} is not part of the app`);
    return s;
  };
  return {
    app,
    assembly,
    config,
    stack: stackOf,
    // Everything is read from this one synthesis: SST's unique-id aspect refuses a second pass
    // over the same app, which Annotations.fromStack (force: true) would make.
    template: (fn) => Template.fromJSON(assembly.getStackArtifact(stackOf(fn).artifactId).template),
    findings: (fn) => assembly.getStackArtifact(stackOf(fn).artifactId).messages.filter((m) => m.level === 'error' || m.level === 'warning'),
  };
}

/** A complete stage config for tests: two AZs, an Aurora cluster, an RDS instance, a static target. */
export function testStageConfig(overrides: Partial<StageConfigInput> = {}): StageConfigInput {
  return {
    vpc: {
      id: 'vpc-0123456789abcdef0',
      subnets: [
        { id: 'subnet-0aaaaaaaaaaaaaaa1', availabilityZone: 'eu-west-1a' },
        { id: 'subnet-0bbbbbbbbbbbbbbb2', availabilityZone: 'eu-west-1b' },
      ],
    },
    clients: { cidrs: ['10.1.0.0/16'], securityGroupIds: ['sg-0cccccccccccccc01'] },
    clusters: [
      { id: 'orders', kind: 'aurora', rdsIdentifier: 'orders-aurora', securityGroupId: 'sg-0ddddddddddddddd1' },
      { id: 'billing', kind: 'rds-instance', rdsIdentifier: 'billing-db', securityGroupId: 'sg-0ddddddddddddddd2', port: 5433 },
      { id: 'legacy', kind: 'static', cidr: '10.9.0.0/24' },
    ],
    ...overrides,
  };
}

/** One IAM statement as it appears in a synthesized template. */
export interface TemplateStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
}

interface PolicyDoc {
  Statement: TemplateStatement[];
}

export function actionsOf(s: TemplateStatement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

export function resourcesOf(s: TemplateStatement): unknown[] {
  return s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource];
}

/** Every identity-policy statement attached to the role with this logical id (inline and AWS::IAM::Policy). */
export function roleStatements(template: Template, roleLogicalId: string): TemplateStatement[] {
  const out: TemplateStatement[] = [];
  const role = template.toJSON().Resources?.[roleLogicalId] as { Properties?: { Policies?: { PolicyDocument: PolicyDoc }[] } } | undefined;
  if (!role) throw new Error(`no role ${roleLogicalId}`);
  for (const p of role.Properties?.Policies ?? []) out.push(...p.PolicyDocument.Statement);
  for (const p of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const props = (p as { Properties: { Roles?: unknown[]; PolicyDocument: PolicyDoc } }).Properties;
    if ((props.Roles ?? []).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }))) out.push(...props.PolicyDocument.Statement);
  }
  return out;
}

/** Every identity-policy statement in the template: roles' inline policies, policies, managed policies. */
export function identityStatements(template: Template): { where: string; statement: TemplateStatement }[] {
  const out: { where: string; statement: TemplateStatement }[] = [];
  const resources = (template.toJSON().Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  for (const [id, r] of Object.entries(resources)) {
    const docs: PolicyDoc[] = [];
    if (r.Type === 'AWS::IAM::Role') for (const p of (r.Properties?.Policies as { PolicyDocument: PolicyDoc }[] | undefined) ?? []) docs.push(p.PolicyDocument);
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') docs.push(r.Properties?.PolicyDocument as PolicyDoc);
    for (const d of docs) for (const statement of d.Statement) out.push({ where: id, statement });
  }
  return out;
}
