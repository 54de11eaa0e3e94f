// The reconcile publishes a config version that a bump allocated but could not publish (an API
// change whose announce failed after its retries), and pushes a reload; with nothing behind it
// bumps nothing. The channel's own catch-up is tested against moto (test/control-plane-ssm.test.ts);
// here a local channel reports what an SSM channel with a lagging parameter would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localTestDeps, type LocalTestDeps } from '../testing/test-deps.ts';
import { reconcile } from './reconcile.ts';

describe('reconcile: config version left behind', () => {
  let t: LocalTestDeps;
  beforeEach(async () => {
    t = await localTestDeps();
  });
  afterEach(async () => {
    await t.cleanup();
  });
  const run = () => reconcile({ ...t.deps, stage: 'teststage', writeMetric: () => undefined });

  it('publishes it and pushes a reload; otherwise leaves the version alone', async () => {
    const config = t.deps.adapters.config;
    let pushes = 0;
    const push = config.pushReload.bind(config);
    config.pushReload = () => {
      pushes++;
      return push();
    };
    expect((await run()).configVersion).toBeUndefined();
    expect(pushes).toBe(0);

    config.catchUpConfigVersion = () => Promise.resolve(7);
    expect((await run()).configVersion).toBe(7);
    expect(pushes).toBe(1);
  });
});
