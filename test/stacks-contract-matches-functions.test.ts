// Names the infrastructure and the code must agree on but cannot share an import for (functions/
// and shared/ may not import stacks/, scripts/check-boundaries.ts): the stage tag SendCommand
// targets (the IAM condition requires it) and the metric the stale-pooler alarm watches.
import { expect, it } from 'vitest';
import { STALE_POOLERS_METRIC as published } from '../functions/failover/stale-poolers-metric.ts';
import { STAGE_TAG_KEY as targeted } from '../shared/src/aws/ssm-config-channel.ts';
import { STAGE_TAG_KEY, STALE_POOLERS_METRIC } from '../stacks/contract.ts';

it('the reload push targets the stage tag the stacks put on poolers and condition SendCommand on', () => {
  expect(targeted).toBe(STAGE_TAG_KEY);
});

it('the reconcile publishes the metric (namespace, name, dimension) the stale-pooler alarm watches', () => {
  expect(published).toEqual(STALE_POOLERS_METRIC);
});
