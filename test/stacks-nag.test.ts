// cdk-nag's AwsSolutions rules over every stack of the app, for a development and a production
// stage: no finding is left unsuppressed, and every suppression names its finding and says why.
import { beforeAll, describe, expect, it } from 'vitest';
import { STACKS } from '../stacks/app.ts';
import { synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';

const synths: Record<string, OfflineSynth> = {};

beforeAll(async () => {
  synths.dev = await synthOffline({ stage: 'dev', config: testStageConfig() });
  synths.prod = await synthOffline({ stage: 'prod', config: testStageConfig({ production: true, alarms: { email: 'oncall@example.com' } }) });
});

interface Suppression {
  id: string;
  reason: string;
  applies_to?: unknown[];
}

describe.each(['dev', 'prod'])('the %s stage', (stage) => {
  it.each(STACKS.map((fn) => [fn.name, fn] as const))('%s has no unsuppressed AwsSolutions finding (nor any other warning)', (_name, fn) => {
    const synth = synths[stage];
    if (!synth) throw new Error('not synthesized');
    // Any error or warning fails: cdk-nag findings and CDK's own warnings alike.
    expect(synth.findings(fn).map((f) => `${f.level} ${f.id}: ${String(f.entry.data).split(':')[0]}`)).toEqual([]);
  });

  it('actually ran the checks (suppressions were consulted on every stack)', () => {
    const synth = synths[stage];
    for (const fn of STACKS) {
      const metadata = JSON.stringify(synth?.template(fn).toJSON());
      expect(metadata, fn.name).toContain('"cdk_nag"');
    }
  });
});

it('every suppression gives a specific reason, and wildcard (IAM5) suppressions name the resource they cover', () => {
  const synth = synths.prod;
  const seen: Suppression[] = [];
  for (const fn of STACKS) {
    const resources = synth?.template(fn).toJSON().Resources as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: Suppression[] } } }>;
    for (const r of Object.values(resources)) seen.push(...(r.Metadata?.cdk_nag?.rules_to_suppress ?? []));
  }
  expect(seen.length).toBeGreaterThan(0);
  for (const s of seen) {
    expect(s.id).toMatch(/^AwsSolutions-[A-Z0-9]+$/);
    expect(s.reason.length, `${s.id}: ${s.reason}`).toBeGreaterThanOrEqual(60);
    if (s.id === 'AwsSolutions-IAM5' || s.id === 'AwsSolutions-IAM4') expect(s.applies_to, `${s.id}: ${s.reason}`).toHaveLength(1);
  }
  // Only these rules are ever suppressed; a new one needs a reason here too.
  expect([...new Set(seen.map((s) => s.id))].sort()).toEqual(['AwsSolutions-AS3', 'AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR4', 'AwsSolutions-ELB2', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-S1']);
});
