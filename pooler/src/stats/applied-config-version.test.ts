import { describe, expect, it } from 'vitest';
import { createMetrics, type MetricsSource } from './metrics.ts';

function source(appliedConfigVersion: number | undefined): MetricsSource {
  return {
    configVersion: 3,
    appliedConfigVersion,
    draining: false,
    reloadCount: 2,
    tenantIds: () => [],
    poolStats: () => [],
    clientsPerTenant: () => new Map(),
    tenantTotals: () => new Map(),
    disconnectCounts: () => new Map(),
    isPaused: () => false,
  };
}

describe('switchyard_applied_config_version', () => {
  it('reports the published version the source controller applied', async () => {
    const text = await createMetrics(source(42)).registry.metrics();
    expect(text).toMatch(/^switchyard_applied_config_version 42$/m);
    expect(text).toMatch(/^switchyard_config_version 3$/m);
  });

  it('is 0 with a file source (no published version)', async () => {
    const text = await createMetrics(source(undefined)).registry.metrics();
    expect(text).toMatch(/^switchyard_applied_config_version 0$/m);
  });
});
