// The whole system, in dependency order. sst.config.ts and the tests both call this, so what the
// tests synthesize is what `sst deploy` deploys.
import type { App } from 'sst/constructs';
import { Api } from './Api.ts';
import { Console } from './Console.ts';
import { Failover } from './Failover.ts';
import { Monitoring } from './Monitoring.ts';
import { applyAwsSolutionsChecks, suppressSstInternals } from './nag.ts';
import { PoolerFleet } from './PoolerFleet.ts';
import { provideSettings, type SwitchyardSettings } from './settings.ts';
import { Storage } from './Storage.ts';

/** Stacks in dependency order: each one only `use()`s stacks listed before it. */
export const STACKS = [Storage, Console, Api, Failover, PoolerFleet, Monitoring] as const;

export function switchyardApp(app: App, settings: SwitchyardSettings): void {
  provideSettings(app, settings);
  // cdk-nag runs at synth on every deploy, not only in tests: a new finding fails loudly.
  applyAwsSolutionsChecks(app);
  for (const fn of STACKS) app.stack(fn);
  suppressSstInternals(app);
}
