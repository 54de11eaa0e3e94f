import { describe, expect, it } from 'vitest';
import { DEFAULT_STALE_AFTER_SECONDS, fleetConvergence, poolerStanding } from './fleet-convergence.ts';

const now = new Date('2030-03-01T10:00:00.000Z');
const ago = (s: number): string => new Date(now.getTime() - s * 1000).toISOString();

describe('fleet convergence', () => {
  it('a pooler is converged on exactly the current version, stale only after more than staleAfterSeconds of silence', () => {
    expect(poolerStanding({ appliedConfigVersion: 7, lastSeen: ago(10) }, 7, now)).toEqual({ converged: true, stale: false });
    expect(poolerStanding({ appliedConfigVersion: 6, lastSeen: ago(DEFAULT_STALE_AFTER_SECONDS) }, 7, now)).toEqual({ converged: false, stale: false });
    expect(poolerStanding({ appliedConfigVersion: 6, lastSeen: ago(DEFAULT_STALE_AFTER_SECONDS + 1) }, 7, now)).toEqual({ converged: false, stale: true });
    // Out-of-order publishes can leave a pooler on a higher number than the parameter: still behind.
    expect(poolerStanding({ appliedConfigVersion: 8, lastSeen: ago(10) }, 7, now).converged).toBe(false);
    expect(poolerStanding({ appliedConfigVersion: 7, lastSeen: ago(61) }, 7, now, 60).stale).toBe(true);
  });

  it('counts the live poolers that lag; silent ones count for nothing', () => {
    const fleet = fleetConvergence(
      [
        { appliedConfigVersion: 7, lastSeen: ago(5) },
        { appliedConfigVersion: 6, lastSeen: ago(5) },
        { appliedConfigVersion: 8, lastSeen: ago(200) },
        { appliedConfigVersion: 3, lastSeen: ago(3600) },
      ],
      7,
      now,
    );
    expect(fleet.lagging).toBe(2);
    expect(fleet.converged).toBe(false);
    expect(fleet.poolers.map((p) => p.standing.stale)).toEqual([false, false, false, true]);
  });

  it('an empty fleet, or one whose only laggards are silent, has converged', () => {
    expect(fleetConvergence([], 7, now)).toEqual({ converged: true, lagging: 0, poolers: [] });
    expect(fleetConvergence([{ appliedConfigVersion: 1, lastSeen: ago(301) }], 7, now)).toMatchObject({ converged: true, lagging: 0 });
  });
});
