// Lazy reset (backend/pool.ts park): a reload that changes the tenant's target closes a parked
// connection to the old one (as an idle one); its owner's next transaction goes to the new target.
import { describe, expect, it } from 'vitest';
import { startDelayingProxy } from '../helpers/delaying-proxy.ts';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { expectFreshBackend, parkWithTempTable, untilBackendGone } from '../helpers/lazy-reset.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { poolerConfig, superuserConn } from '../helpers/tenants.ts';

const rig = sessionRig('lazy-retarget', { pool: { size: 1, lazy_reset: true } });

describe('a retarget with a parked connection', () => {
  it('closes it; the owner goes to the new target', async () => {
    const t = rig.tenant;
    const proxy = await startDelayingProxy({ host: t.destination.host, port: t.destination.port });
    const a = await ProtocolClient.connect(rig.conn());
    try {
      const pid = await parkWithTempTable(a);
      const target = { ...(t.config.target as Record<string, unknown>), port: proxy.port };
      rig.pooler.reload(poolerConfig([{ ...t.config, target } as typeof t.config]));
      await untilBackendGone(superuserConn(rig.pg), pid, 'the parked connection to the old target closed');
      await expectFreshBackend(a, pid);
      expect(proxy.accepted, 'the new connection went to the new target').toBe(1);
    } finally {
      await endAll([a]);
      await proxy.close();
    }
  });
});
