// sst.config.ts through SST's own loader (the one `sst deploy` uses): the shallow load reads the
// app name and region without evaluating any stack, and the full load composes the six stacks in
// dependency order from the stage config.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { App } from 'sst/constructs';
import { initProject, useProject } from 'sst/project.js';
import { load } from 'sst/stacks/build.js';
import { beforeAll, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
let assembly: CloudAssembly;

beforeAll(async () => {
  process.env.NODE_ENV = 'test';
  process.env.SWITCHYARD_STAGE_CONFIG = 'deploy/stages/example.json';
  const bundle = mkdtempSync(join(tmpdir(), 'switchyard-bundle-'));
  writeFileSync(join(bundle, 'main.js'), '// stand-in bundle\n');
  process.env.SWITCHYARD_POOLER_BUNDLE_DIR = bundle;
  delete process.env.AWS_REGION;
  await initProject({ root, stage: 'ci' });
  const project = useProject();
  const [, config] = (await load(project.paths.config)) as readonly [unknown, { stacks: (app: App) => Promise<void> }];
  // What `sst build` does after credentials: an App in deploy mode, the config's stacks, finish.
  const app = new App({ mode: 'deploy', stage: 'ci', name: project.config.name, region: project.config.region, account: '123456789012', isActiveStack: () => false });
  await config.stacks(app);
  await app.finish();
  assembly = app.synth();
});

it('the shallow load reads name and region and strips the stacks method', () => {
  const project = useProject();
  expect(project.config.name).toBe('switchyard');
  expect(project.config.region).toBe('eu-west-1');
  expect(project.config.stage).toBe('ci');
  // SST's Babel pass removed `stacks()`: reading the config evaluated no stack.
  expect(project.stacks).toBeUndefined();
});

it('the full load deploys six stacks, named for the stage, each depending only on those before it', () => {
  const names = assembly.stacks.map((s) => s.stackName);
  const order = ['Storage', 'Console', 'Api', 'Failover', 'PoolerFleet', 'Monitoring'].map((n) => `ci-switchyard-${n}`);
  expect([...names].sort()).toEqual([...order].sort());
  for (const s of assembly.stacks) {
    const deps = s.dependencies.map((d) => d.id).filter((id) => id.startsWith('ci-'));
    for (const d of deps) expect(order.indexOf(d), `${s.stackName} -> ${d}`).toBeLessThan(order.indexOf(s.stackName));
  }
  const deps = (name: string) => assembly.getStackByName(`ci-switchyard-${name}`).dependencies.map((d) => d.id).sort();
  expect(deps('Api')).toEqual(expect.arrayContaining(['ci-switchyard-Storage', 'ci-switchyard-Console']));
  expect(deps('Monitoring')).toEqual(expect.arrayContaining(['ci-switchyard-Failover', 'ci-switchyard-PoolerFleet']));
});

it('the stage config file shaped the fleet (example.json: three AZs, 5432, the Aurora cluster)', () => {
  const fleet = JSON.stringify(assembly.getStackByName('ci-switchyard-PoolerFleet').template);
  for (const subnet of ['subnet-0a1b2c3d4e5f60711', 'subnet-0a1b2c3d4e5f60722', 'subnet-0a1b2c3d4e5f60733']) expect(fleet).toContain(subnet);
  const failover = JSON.stringify(assembly.getStackByName('ci-switchyard-Failover').template);
  expect(failover).toContain(':cluster:orders-aurora');
});
