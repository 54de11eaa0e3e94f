// The safety net of adversarial/session-state-does-not-leak, for a tenant that pins (issue 14
// item 4: max_pinned, pin_advisory_locks, pin_role all on). Pool size 1: client A leaves each kind
// of session state (it may be pinned for it), then client B — queued meanwhile if A is pinned — must
// find none of it on the very same backend once A has left (a pinned client's connection gets the
// full reset when it leaves). adversarial/pin-temp-table-until-discard-temp checks that clients of
// the other connections never see a pinned client's state meanwhile.
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { firstValue, LEAKS, prepareLeaks } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('pin-leak', {
  pool: { size: 1, max_pinned: 1, pin_advisory_locks: true, pin_role: true },
  prepare: (pg, t) => prepareLeaks(pg, [t]),
});

describe('pinned state does not reach the next client', () => {
  it.each(LEAKS)('$name', async (leak) => {
    const owner = rig.tenant.destination.user;
    const a = await ProtocolClient.connect(rig.conn());
    let b: ProtocolClient | undefined;
    try {
      const pidA = await firstValue(a, 'SELECT pg_backend_pid()');
      const left = await a.request(query(leak.leave.replaceAll('{owner}', owner)));
      const err = left.find((m) => m.type === 'E');
      expect(err, `client A's statement failed: ${err?.body.toString('latin1')}`).toBeUndefined();
      // A runs another transaction: pinned or not, it goes on.
      expect(await firstValue(a, 'SELECT 1')).toBe('1');
      await a.end();
      b = await ProtocolClient.connect(rig.conn());
      expect(await firstValue(b, 'SELECT pg_backend_pid()'), 'the same server connection (pool size 1)').toBe(pidA);
      expect(await firstValue(b, leak.check)).toBe(leak.clean);
    } finally {
      await endAll([a, b]);
    }
  });
});
