// Lazy reset (backend/pool.ts park): a parked connection ages like an idle one — past
// idle_timeout it is closed (closing loses nothing a reset would keep), and its owner's next
// transaction runs on a new backend with nothing of the old session.
import { describe, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { expectFreshBackend, parkWithTempTable, untilBackendGone } from '../helpers/lazy-reset.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { superuserConn } from '../helpers/tenants.ts';

const rig = sessionRig('lazy-idle', { pool: { size: 1, idle_timeout: 1, lazy_reset: true } });

describe('a parked connection past idle_timeout', () => {
  it('is closed', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    try {
      const pid = await parkWithTempTable(a);
      await untilBackendGone(superuserConn(rig.pg), pid, 'the parked connection closed for idle_timeout');
      await expectFreshBackend(a, pid);
    } finally {
      await endAll([a]);
    }
  });
});
