// Lazy reset (backend/pool.ts park) and session advisory locks. In transaction mode a session
// advisory lock a client takes is wiped after its transaction (docs/transaction-mode.md: only with
// pool.pin_advisory_locks does it last). Advisory locks are seen by every session of the database:
// a lock kept on the owner's parked connection is something one client set reaching another —
// B's pg_try_advisory_lock fails, and B's pg_advisory_lock waits for as long as A stays idle
// (nobody queues in the pooler, so nothing reclaims A's connection).
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('lazy-advlock', { pool: { size: 2 } });

describe('a session advisory lock of a client whose connection is parked', () => {
  // Found by review: with lazy_reset on, B gets 'false' (A's lock stays on its parked connection).
  // Hence lazy reset is opt-in per tenant (docs/transaction-mode.md): by default the lock is gone.
  it('is released after its transaction by default (lazy reset is opt-in)', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    const b = await ProtocolClient.connect(rig.conn());
    try {
      // Both hold a connection at once, then both are parked for their own client.
      expect(await firstValue(a, 'BEGIN; SELECT pg_backend_pid()::text')).not.toBeNull();
      expect(await firstValue(b, 'BEGIN; SELECT pg_backend_pid()::text')).not.toBeNull();
      await firstValue(a, 'COMMIT');
      await firstValue(b, 'COMMIT');
      expect(await firstValue(a, 'SELECT pg_advisory_lock(4242)::text')).toBe('');
      // A's transaction has ended: its session lock is gone for everyone else.
      expect(await firstValue(b, 'SELECT pg_try_advisory_lock(4242)::text'), "B does not see A's session lock").toBe('true');
    } finally {
      await endAll([a, b]);
    }
  });
});
