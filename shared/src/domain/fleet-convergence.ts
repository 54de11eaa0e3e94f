// Has the fleet applied the current config version? One verdict, used both by GET /poolers
// (functions/api/poolers-list.ts) and by the reconcile's StalePoolers metric
// (functions/failover/stale-poolers-metric.ts), so the API and the alarm never disagree.
//
// A pooler is `converged` when its last heartbeat reports the current config version, and `stale`
// when it has been silent for longer than staleAfterSeconds. Stale poolers are left out of the
// fleet's verdict: an instance the Auto Scaling group replaced leaves its last heartbeat behind
// and would otherwise keep the fleet "unconverged" forever.
import type { PoolerHeartbeat } from './heartbeat.ts';

/** Silence after which a pooler's heartbeat no longer counts (the API's default, the alarm's rule). */
export const DEFAULT_STALE_AFTER_SECONDS = 300;

export interface PoolerStanding {
  /** Its last heartbeat reports the current config version. */
  converged: boolean;
  /** Silent for longer than staleAfterSeconds: left out of the fleet's verdict. */
  stale: boolean;
}

export function poolerStanding(
  h: Pick<PoolerHeartbeat, 'appliedConfigVersion' | 'lastSeen'>,
  configVersion: number,
  now: Date,
  staleAfterSeconds = DEFAULT_STALE_AFTER_SECONDS,
): PoolerStanding {
  return {
    // "Differs", not "is lower": two concurrent bumps may publish out of order (ports/config-channel.ts),
    // and a pooler that applied the other number has still not applied what the parameter says now.
    converged: h.appliedConfigVersion === configVersion,
    stale: now.getTime() - Date.parse(h.lastSeen) > staleAfterSeconds * 1000,
  };
}

export interface FleetConvergence<H> {
  /** Every live (non-stale) pooler has applied the current config version. */
  converged: boolean;
  /** Live poolers that have not applied it: the StalePoolers metric. */
  lagging: number;
  poolers: { heartbeat: H; standing: PoolerStanding }[];
}

export function fleetConvergence<H extends Pick<PoolerHeartbeat, 'appliedConfigVersion' | 'lastSeen'>>(
  heartbeats: readonly H[],
  configVersion: number,
  now: Date,
  staleAfterSeconds = DEFAULT_STALE_AFTER_SECONDS,
): FleetConvergence<H> {
  const poolers = heartbeats.map((heartbeat) => ({ heartbeat, standing: poolerStanding(heartbeat, configVersion, now, staleAfterSeconds) }));
  const lagging = poolers.filter((p) => !p.standing.stale && !p.standing.converged).length;
  return { converged: lagging === 0, lagging, poolers };
}
