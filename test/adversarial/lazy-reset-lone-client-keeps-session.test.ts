// Lazy reset (backend/pool.ts park): a transaction-mode client alone on its pool gets its own
// server connection back unreset — its temporary table (and a hidden setting) is still there in its
// next transaction, on the same backend, and SHOW SERVERS lists the connection as 'used' (parked)
// between them. The next client on that backend (pool size 1) finds none of it: the connection was
// reset before it got it.
import { describe, expect, it } from 'vitest';
import { adminRows } from '../helpers/admin.ts';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { HAS_TEMP, parkWithTempTable } from '../helpers/lazy-reset.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('lazy-lone', { pool: { size: 1, lazy_reset: true } });

describe('a lone client', () => {
  it('keeps its session between its transactions; the next client gets a reset one', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    let b: ProtocolClient | undefined;
    try {
      const pid = await parkWithTempTable(a);
      // A setting made where the pooler cannot see it stays with its own session too.
      await firstValue(a, "SELECT set_config('application_name', 'lazy_hidden', false)");
      expect(await firstValue(a, "SELECT current_setting('application_name') || ' ' || pg_backend_pid()")).toBe(`lazy_hidden ${pid}`);
      const servers = await adminRows(rig.pooler, rig.admin, 'SHOW SERVERS');
      expect(servers.map((s) => s.state), 'the parked connection, between A’s transactions').toEqual(['used']);
      const pools = (await adminRows(rig.pooler, rig.admin, 'SHOW POOLS')).filter((p) => p.database === rig.tenant.id);
      expect([pools[0]?.sv_active, pools[0]?.sv_idle], 'counted in the pool, as idle').toEqual([0, 1]);
      b = await ProtocolClient.connect(rig.conn());
      expect(await firstValue(b, 'SELECT pg_backend_pid()::text'), 'the same backend (pool size 1)').toBe(pid);
      expect(await firstValue(b, HAS_TEMP), 'B must not see A’s temporary table').toBe('false');
      expect(await firstValue(b, "SELECT current_setting('application_name')"), 'nor its hidden setting').not.toBe('lazy_hidden');
      // B's connection was parked for B now: A's next transaction gets it reset, without its table.
      expect(await firstValue(a, HAS_TEMP)).toBe('false');
    } finally {
      await endAll([a, b]);
    }
  });
});
