// A transaction-mode client pinned to its server connection (issue 14 item 4; pin-probe.ts finds
// the state, backend/reset.ts runs the probe): the pin slots of each pool (max_pinned), the pins
// counted (switchyard_pins_total), and what a pin does at release, at refusal and at close.
import type { Pool } from '../backend/pool.ts';
import { resetServer } from '../backend/reset.ts';
import type { ServerConnection } from '../backend/server.ts';
import type { TenantRoute } from '../config/snapshot.ts';
import { PoolerError } from '../errors.ts';
import { CLOSED, type ClientState } from './client-state.ts';
import type { PinPolicy, PinProbe, PinReason } from './pin-probe.ts';

// ---- the pinned clients of each pool ------------------------------------------------------

/** Per pool: clients pinned now, and pins counted since the pool started, by reason. */
export interface PinStats {
  pinned: number;
  readonly pins: Map<PinReason, number>;
}
const stats = new WeakMap<object, PinStats>();

export function pinStatsOf(pool: object): PinStats {
  let s = stats.get(pool);
  if (s === undefined) stats.set(pool, (s = { pinned: 0, pins: new Map() }));
  return s;
}

/** Clients of `pool` pinned now. */
export function pinnedIn(pool: object): number {
  return stats.get(pool)?.pinned ?? 0;
}

/** Takes a pin slot of `pool` (false: max_pinned reached). */
export function takePinSlot(pool: object, max: number): boolean {
  const s = pinStatsOf(pool);
  if (s.pinned >= max) return false;
  s.pinned++;
  return true;
}

export function freePinSlot(pool: object): void {
  const s = pinStatsOf(pool);
  if (s.pinned > 0) s.pinned--;
}

// ---- a client's pin ----------------------------------------------------------------------------

/** A pinned client's server connection and why. */
export interface Pin {
  readonly server: ServerConnection;
  /** The pool whose slot it holds (a read endpoint's client changes pools between transactions). */
  readonly pool: Pool;
  reason: PinReason;
}

/** The client connection, as pinning sees it. */
export interface PinnableClient {
  readonly pool: Pool | null;
  readonly route: TenantRoute | null;
  readonly state: ClientState;
  pin: Pin | null;
  /** Answers still due from its last release's reset. */
  readonly awaitingRelease: number;
  /** Its next request gets `err` (a FATAL), then it is closed. */
  refuseNext(err: PoolerError): void;
}

const policies = new WeakMap<TenantRoute, PinPolicy>();
const OFF: PinPolicy = { max: 0, advisory: false, role: null };

export function pinPolicy(route: TenantRoute): PinPolicy {
  let p = policies.get(route);
  if (p === undefined) {
    const s = route.pool;
    const max = route.pool.mode === 'transaction' ? Math.min(s.max_pinned ?? 0, s.size) : 0;
    p = max === 0 ? OFF : { max, advisory: s.pin_advisory_locks === true, role: s.pin_role === true ? route.target.user : null };
    policies.set(route, p);
  }
  return p;
}

function countPin(pool: object, reason: PinReason): void {
  const pins = pinStatsOf(pool).pins;
  pins.set(reason, (pins.get(reason) ?? 0) + 1);
}

/** Whether `route`'s tenant pins at all (a map lookup: asked at every release). */
export function pinsOn(route: TenantRoute): boolean {
  return pinPolicy(route).max > 0;
}

/**
 * The probe for a release by `c` at the end of a transaction, or undefined when its tenant pins
 * nothing (the reset is DISCARD ALL, as before). `answered` runs once the verdict is in.
 */
export function pinProbeFor(c: PinnableClient, answered: () => void): PinProbe | undefined {
  const policy = c.route === null ? OFF : pinPolicy(c.route);
  if (policy.max === 0) return undefined;
  const was = c.pin;
  return {
    policy,
    full: was?.reason === 'temp_table',
    cursors: was?.reason === 'held_cursor',
    pinned(server, reason) {
      const pool = c.pool!;
      if (c.state === CLOSED) {
        // It left while the reset ran: its state goes with it.
        if (was !== null) freePinSlot(was.pool);
        c.pin = null;
        resetServer(server, pool, DISCARD);
      } else if (was === null && !takePinSlot(pool, policy.max)) {
        // Past max_pinned: the state is wiped as before, and the client is told at its next request.
        resetServer(server, pool, DISCARD);
        c.refuseNext(
          new PoolerError('TOO_MANY_PINNED', `too many pinned clients for tenant "${pool.tenantId}" (max_pinned ${policy.max})`, {
            detail: `the session held state that needs its own server connection (${reason}); it was discarded`,
            hint: 'end such state (DISCARD TEMP, pg_advisory_unlock_all(), CLOSE) before the transaction ends, or use session mode',
          }),
        );
      } else {
        if (was === null || was.reason !== reason) countPin(pool, reason);
        c.pin = { server, pool, reason };
      }
      answered();
    },
    clean(lost) {
      if (was !== null) {
        freePinSlot(was.pool);
        if (c.pin === was) c.pin = null;
        if (lost && c.state !== CLOSED) c.refuseNext(new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: `it held the session's ${was.reason}` }));
      }
      answered();
    },
  };
}

/** Its pinned connection died while it was idle: the pin (and the state) is gone. */
export function pinLost(c: PinnableClient): void {
  const pin = c.pin;
  if (pin === null) return;
  c.pin = null;
  freePinSlot(pin.pool);
}

const DISCARD = { rollback: false, discardAll: true } as const;

/**
 * A pinned client leaves: its connection gets the full reset and goes back to the pool — unless
 * it is the connection the client is linked to (`linked`: the close resets it) or a release's
 * reset is still running on it (its verdict sees the client closed, pinProbeFor).
 */
export function unpinOnClose(c: PinnableClient, linked: ServerConnection | null): void {
  const pin = c.pin;
  if (pin === null || c.awaitingRelease > 0) return;
  c.pin = null;
  freePinSlot(pin.pool);
  if (pin.server !== linked && !pin.server.closed) resetServer(pin.server, pin.pool, DISCARD);
}
