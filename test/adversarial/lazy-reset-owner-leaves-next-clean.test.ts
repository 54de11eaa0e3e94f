// Lazy reset (backend/pool.ts park): a client leaves while its server connection is parked unreset
// for it. The connection is reset at once (SHOW SERVERS: idle again, not 'used') and the next client
// (pool size 1, so the same backend) finds nothing of the first one's session.
import { describe, expect, it } from 'vitest';
import { adminRows } from '../helpers/admin.ts';
import { until } from '../helpers/clients.ts';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { HAS_TEMP, parkWithTempTable } from '../helpers/lazy-reset.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('lazy-leaves', { pool: { size: 1, lazy_reset: true } });

describe('a client leaving with a parked connection', () => {
  it('the next client gets it reset', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    let b: ProtocolClient | undefined;
    try {
      const pid = await parkWithTempTable(a);
      await firstValue(a, "SELECT set_config('work_mem', '7777kB', false)");
      await a.end();
      // Reset as soon as it left, not when someone next asks: back in the pool as idle.
      await until(async () => (await adminRows(rig.pooler, rig.admin, 'SHOW SERVERS')).every((r) => r.state === 'idle'), 20_000, 'the parked connection reset and idle');
      b = await ProtocolClient.connect(rig.conn());
      expect(await firstValue(b, 'SELECT pg_backend_pid()::text'), 'the same backend (pool size 1)').toBe(pid);
      expect(await firstValue(b, HAS_TEMP), 'B must not see A’s temporary table').toBe('false');
      expect(await firstValue(b, 'SHOW work_mem'), 'nor its hidden setting').not.toBe('7777kB');
    } finally {
      await endAll([a, b]);
    }
  });
});
