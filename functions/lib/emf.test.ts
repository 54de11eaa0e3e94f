import { describe, expect, it } from 'vitest';
import { EmfError, emfLine } from './emf.ts';

describe('embedded metric format line', () => {
  const at = new Date('2030-03-01T10:00:00.000Z');

  it('has the _aws directive naming namespace, dimension set and metric, with values at the root', () => {
    const line = emfLine({ namespace: 'Switchyard', dimensions: { Stage: 'prod' }, metrics: [{ name: 'StalePoolers', value: 2, unit: 'Count' }], timestamp: at });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [{ Namespace: 'Switchyard', Dimensions: [['Stage']], Metrics: [{ Name: 'StalePoolers', Unit: 'Count' }] }],
      },
      Stage: 'prod',
      StalePoolers: 2,
    });
  });

  it('publishes zero (a value, not a missing datapoint)', () => {
    const line = emfLine({ namespace: 'Switchyard', dimensions: { Stage: 'prod' }, metrics: [{ name: 'StalePoolers', value: 0, unit: 'Count' }], timestamp: at });
    expect(JSON.parse(line)).toMatchObject({ StalePoolers: 0 });
  });

  it.each([
    ['a metric named like a dimension', { dimensions: { Stage: 'x' }, metrics: [{ name: 'Stage', value: 1, unit: 'Count' as const }] }],
    ['a member named _aws', { dimensions: { _aws: 'x' }, metrics: [{ name: 'M', value: 1, unit: 'Count' as const }] }],
    ['a value that is not finite', { dimensions: {}, metrics: [{ name: 'M', value: Number.NaN, unit: 'Count' as const }] }],
    ['no metric', { dimensions: {}, metrics: [] }],
    ['an empty namespace', { namespace: '', dimensions: {}, metrics: [{ name: 'M', value: 1, unit: 'Count' as const }] }],
  ])('refuses %s', (_what, r) => {
    expect(() => emfLine({ namespace: 'Switchyard', timestamp: at, ...r })).toThrow(EmfError);
  });
});
