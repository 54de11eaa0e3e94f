// LISTEN/NOTIFY in transaction mode with postgres.js: `sql.listen(channel, fn)` (its own connection,
// LISTEN re-sent on reconnect) and `sql.notify(channel, payload)`, pool of one server connection;
// `unlisten()` stops delivery.
import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { until } from './helpers/clients.ts';
import { listenRig } from './helpers/listen-rig.ts';

const rig = listenRig('listen-postgresjs', ['t']);

describe('transaction mode, pool size 1', () => {
  it('sql.listen / sql.notify / unlisten', async () => {
    const c = rig.pooled(rig.tenants.t!);
    const sql = postgres({ host: c.host, port: c.port, database: c.database, username: c.user, password: c.password, max: 2, onnotice: () => {} });
    try {
      const got: string[] = [];
      const sub = await sql.listen('pjs_chan', (payload) => got.push(payload));
      await sql.notify('pjs_chan', 'one');
      await sql`SELECT pg_notify('pjs_chan', 'two')`;
      await until(() => got.length >= 2, 20_000, 'two notifications');
      expect(got).toEqual(['one', 'two']);
      await sub.unlisten();
      const sentinel: string[] = [];
      await sql.listen('pjs_sentinel', (p) => sentinel.push(p));
      await sql.notify('pjs_chan', 'three');
      await sql.notify('pjs_sentinel', 'last');
      await until(() => sentinel.length >= 1, 20_000, 'sentinel');
      expect(got).toEqual(['one', 'two']);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
