// A planned switchover (docs/deploy.md "Planned switchover"): between an RDS "started" event (or
// the local `clusters switchover`) and the matching "completed" one, a cluster is marked
// `switching`. The mark is published with the cluster's targets; every pooler then holds NEW
// transactions of the cluster's tenants (they queue) while open ones finish, and lets them go on
// the writer the targets name once the mark is cleared — or once its own `switchover_timeout`
// (counted from `since`) has passed, whichever comes first. The control plane never has to clear
// a mark for the poolers to go on: a mark older than the timeout is ignored by them.
//
// Pure decisions here; functions/failover/switchover.ts stores and publishes them.
import { z } from 'zod';
import { isoTimestampSchema } from './common.ts';

/** Default `limits.switchover_timeout` of the pooler, seconds. */
export const DEFAULT_SWITCHOVER_SECONDS = 60;
/**
 * Upper bound of `limits.switchover_timeout`, seconds: RDS's own default switchover timeout for a
 * blue/green deployment (SwitchoverBlueGreenDeployment, SwitchoverTimeout default 300). A mark
 * older than this is stale for every pooler; the scheduled reconcile removes it.
 */
export const MAX_SWITCHOVER_SECONDS = 300;

export const switchingSchema = z
  .object({
    /** Time of the event that started the switch (RDS's event time). */
    since: isoTimestampSchema,
    /** What started it: the RDS event id, or `local-switchover`. */
    cause: z.string().min(1).max(64),
  })
  .strict();
export type Switching = z.infer<typeof switchingSchema>;

export function sameSwitching(a: Switching | null | undefined, b: Switching | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.since === b.since && a.cause === b.cause;
}

/**
 * The mark a "started" event at `eventTime` sets, or undefined when it sets none:
 * - an event older than the last applied change (a late delivery after the switch completed),
 * - an event older than MAX_SWITCHOVER_SECONDS (no pooler would hold for it any more),
 * - the cluster is already marked by an event at or after it (a duplicate delivery).
 * A later "started" event moves the mark forward: poolers hold again (or longer) from its time, so
 * a switch that started again after an earlier one timed out without a word is held too.
 */
export function switchingToStart(
  cluster: { lastEventTime: string; switching?: Switching | null | undefined },
  eventTime: Date,
  cause: string,
  now: Date,
): Switching | undefined {
  const t = eventTime.getTime();
  if (t < Date.parse(cluster.lastEventTime)) return undefined;
  if (now.getTime() - t > MAX_SWITCHOVER_SECONDS * 1000) return undefined;
  const held = cluster.switching;
  if (held && !isStale(held, now) && Date.parse(held.since) >= t) return undefined;
  return { since: eventTime.toISOString(), cause };
}

/** Whether an event at `eventTime` that ends a switch (completed, aborted, a writer change seen) ends this mark. */
export function endsSwitching(held: Switching | null | undefined, eventTime: Date): boolean {
  // A late "completed" of an earlier switch must not end a later one.
  return !!held && eventTime.getTime() >= Date.parse(held.since);
}

/** A mark no pooler honours any more (older than the upper bound of switchover_timeout). */
export function isStale(held: Switching, now: Date): boolean {
  return now.getTime() - Date.parse(held.since) > MAX_SWITCHOVER_SECONDS * 1000;
}

/** When a pooler with `timeoutSeconds` stops holding for this mark, epoch ms. */
export function switchingDeadline(held: Switching, timeoutSeconds: number): number {
  return Date.parse(held.since) + Math.min(timeoutSeconds, MAX_SWITCHOVER_SECONDS) * 1000;
}
