// Lazy reset (backend/pool.ts park): RECONNECT on the admin console closes a parked connection as
// it closes an idle one, at once; its owner's next transaction runs on a new backend.
import { describe, it } from 'vitest';
import { adminRows } from '../helpers/admin.ts';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { expectFreshBackend, parkWithTempTable, untilBackendGone } from '../helpers/lazy-reset.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { superuserConn } from '../helpers/tenants.ts';

const rig = sessionRig('lazy-reconnect', { pool: { size: 1, lazy_reset: true } });

describe('RECONNECT with a parked connection', () => {
  it('closes it', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    try {
      const pid = await parkWithTempTable(a);
      await adminRows(rig.pooler, rig.admin, `RECONNECT ${rig.tenant.id}`);
      await untilBackendGone(superuserConn(rig.pg), pid, 'the parked connection closed by RECONNECT');
      await expectFreshBackend(a, pid);
    } finally {
      await endAll([a]);
    }
  });
});
