// Lazy reset off for a tenant (pool.lazy_reset: false): every transaction that ran anything is
// followed by the reset, as before — even a lone client's temporary table is gone in its next one.
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { HAS_TEMP } from '../helpers/lazy-reset.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('lazy-off', { pool: { size: 1, lazy_reset: false } });

describe('lazy_reset: false', () => {
  it('resets after every transaction', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    try {
      const pid = await firstValue(a, 'CREATE TEMP TABLE lazy_mark (v int); SELECT pg_backend_pid()::text');
      expect(await firstValue(a, 'SELECT pg_backend_pid()::text')).toBe(pid);
      expect(await firstValue(a, HAS_TEMP), 'reset between its transactions').toBe('false');
    } finally {
      await endAll([a]);
    }
  });
});
