// A reload that turns pinning off (pool.max_pinned: 0) while a client is pinned (frontend/pin.ts):
// the client's next transaction still runs on its pinned connection, whose release then resets it
// and gives it back to the pool (or parks it, lazy reset) — the pin must end there. Were it kept,
// the client's following transaction would be sent on that connection while another client holds
// it: two clients on one server session (issue 10).
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { poolerConfig } from '../helpers/tenants.ts';

/** firstValue, or 'no answer' after 15 s (a client whose replies went to another client never gets one). */
async function answer(c: ProtocolClient, sql: string): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no answer'), 15_000)));
  try {
    return await Promise.race([firstValue(c, sql), late]);
  } finally {
    clearTimeout(timer);
  }
}

const rig = sessionRig('pin-off-reload', { pool: { size: 2, max_pinned: 1 } });

describe('pinning turned off by a reload while a client is pinned', () => {
  it('ends the pin: the client never shares a connection with another', async () => {
    const t = rig.tenant;
    const a = await ProtocolClient.connect(rig.conn());
    const b = await ProtocolClient.connect(rig.conn());
    try {
      const pid = await firstValue(a, 'CREATE TEMP TABLE pinned_mark (v int); SELECT pg_backend_pid()::text');
      expect(await firstValue(a, 'SELECT pg_backend_pid()::text'), 'pinned').toBe(pid);
      rig.pooler.reload(poolerConfig([{ ...t.config, pool: { ...(t.config.pool as Record<string, unknown>), max_pinned: 0 } } as typeof t.config]));
      // Runs on the pinned connection; its release gives it up (reset, or parked for a).
      expect(await answer(a, 'SELECT pg_backend_pid()::text'), 'still on its pinned connection').toBe(pid);
      // b takes that connection (reset) and holds it in a transaction.
      let bPid: string | null = null;
      for (let i = 0; i < 20 && bPid !== pid; i++) {
        if (bPid !== null) await firstValue(b, 'COMMIT');
        bPid = await firstValue(b, "BEGIN; SET LOCAL application_name = 'b-secret'; SELECT pg_backend_pid()::text");
        // a meanwhile on whatever it gets (the pool opens the second connection).
        if (bPid !== pid) await answer(a, 'SELECT 1');
      }
      expect(bPid, 'b got the formerly pinned connection').toBe(pid);
      // a's next transaction must not run inside b's.
      const seen = await answer(a, "SELECT pg_backend_pid()::text || ' ' || current_setting('application_name')");
      expect(seen, "a does not run on b's connection").not.toMatch(/b-secret/);
      expect(seen?.split(' ')[0], 'a is on another backend').not.toBe(pid);
      expect(await answer(b, 'COMMIT'), 'b still gets its own replies').toBeNull();
    } finally {
      await endAll([a, b]);
    }
  });
});
