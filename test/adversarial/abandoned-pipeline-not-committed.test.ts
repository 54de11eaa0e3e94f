// A client that leaves in the middle of an extended-protocol pipeline (statements executed, no
// Sync yet) never committed them: PostgreSQL rolls the implicit transaction back when the client's
// connection ends (protocol docs, "Extended Query": Sync "causes the backend to close the current
// transaction if it's not inside a BEGIN/COMMIT transaction block"; without it nothing commits).
// The pooler keeps the abandoned server connection until it is idle (backend/abandon.ts) and ends
// the client's stream with messages of its own: those must not include a Sync that commits the
// client's unfinished batch. A transaction is all or nothing (issue 10).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly } from '../helpers/clients.ts';
import { MODES, poolerPerMode } from '../helpers/pooler-per-mode.ts';
import { bind, execute, flush, parse, ProtocolClient } from '../helpers/raw-protocol.ts';
import { superuserConn } from '../helpers/tenants.ts';

const env = poolerPerMode('abandon-pipe', { transaction: 1, session: 1 }, async (pg, tenants) => {
  for (const t of Object.values(tenants)) {
    const su = await connectPg(superuserConn(pg, t.destination.database));
    try {
      await su.query('CREATE TABLE IF NOT EXISTS abandoned_rows (n int)');
      await su.query(`GRANT ALL ON abandoned_rows TO "${t.destination.user}"`);
    } finally {
      await endQuietly(su);
    }
  }
});
const { tenants, pooled } = env;

describe.each(MODES)('%s mode', (mode) => {
  it('an INSERT executed without a Sync is not committed when the client vanishes', async () => {
    const t = tenants[mode];
    const c = await ProtocolClient.connect(pooled(t));
    await c.send(Buffer.concat([parse('', `INSERT INTO abandoned_rows VALUES (1)`), bind('', ''), execute(), flush()]));
    // The INSERT has run on the server (CommandComplete came back); the batch is not synced.
    const got = await c.untilType('C');
    expect(got.map((m) => m.type)).toEqual(['1', '2', 'C']);
    c.destroy();
    // The slot comes back once the abandoned connection is idle: a new client is served.
    const next = await ProtocolClient.connect(pooled(t));
    expect(await next.simple('SELECT count(*) FROM abandoned_rows')).toEqual([['0']]);
    await next.end();
    const su = await connectPg(superuserConn(env.pg, t.destination.database));
    try {
      expect((await su.query('SELECT count(*)::int AS n FROM abandoned_rows')).rows[0].n).toBe(0);
    } finally {
      await endQuietly(su);
    }
  }, 60_000);
});
