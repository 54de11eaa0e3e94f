// Operator removes a tenant while one of its clients is inside a transaction (docs/architecture.md,
// "Reload semantics": its pool is closed, its clients are closed at their next transaction
// boundary). A LISTEN that client runs before that boundary must not bring the removed tenant
// back: no new pool (it would stay registered, in SHOW POOLS and the fleet budget, until some later
// reload) and no listening connection to the removed tenant's database.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from '../helpers/clients.ts';
import { listenRig } from '../helpers/listen-rig.ts';
import { poolerConfig } from '../helpers/tenants.ts';

const rig = listenRig('listen-removed', ['gone', 'stays']);

describe('transaction mode: the tenant is removed while its client is in a transaction', () => {
  it('its LISTEN fails and the removed tenant gets no pool and no listener', async () => {
    const gone = rig.tenants.gone!;
    const client = await connectPg(rig.pooled(gone));
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1');
      expect(rig.pooler.pool(gone.id)).toBeDefined();
      rig.pooler.reload(poolerConfig([rig.tenants.stays!.config]));
      expect(rig.pooler.pool(gone.id)).toBeUndefined();
      const err = await rejectionOf(client.query('LISTEN after_removal'));
      expect(pgErrorInfo(err).code).toBe('57P01');
      expect(rig.pooler.pool(gone.id), 'a pool for the removed tenant').toBeUndefined();
      expect(rig.pooler.listener(gone.id), 'a listener for the removed tenant').toBeUndefined();
    } finally {
      await endQuietly(client);
    }
  });
});
