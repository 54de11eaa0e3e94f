// Lazy reset (backend/pool.ts park): a client that asks while the pool's only connection is parked
// for another client gets it after one reset — it does not wait out checkout_timeout (3 s here),
// and finds nothing of the owner's session. The owner then waits its turn as any client.
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { HAS_TEMP, parkWithTempTable } from '../helpers/lazy-reset.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('lazy-waiter', { pool: { size: 1, checkout_timeout: 3, lazy_reset: true } });

describe('a waiter while the only connection is parked', () => {
  it('gets it, reset', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    let b: ProtocolClient | undefined;
    try {
      const pid = await parkWithTempTable(a);
      b = await ProtocolClient.connect(rig.conn());
      for (let i = 0; i < 5; i++) {
        // Each takes the connection from the other's park: B and A alternate on the one backend.
        expect(await firstValue(b, 'SELECT pg_backend_pid()::text'), `B round ${i}`).toBe(pid);
        expect(await firstValue(b, HAS_TEMP)).toBe('false');
        expect(await firstValue(a, 'CREATE TEMP TABLE IF NOT EXISTS lazy_mark (v int); SELECT pg_backend_pid()::text'), `A round ${i}`).toBe(pid);
      }
    } finally {
      await endAll([a, b]);
    }
  });
});
