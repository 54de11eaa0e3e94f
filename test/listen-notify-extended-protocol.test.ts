// LISTEN/UNLISTEN through the extended protocol in transaction mode (Parse/Bind/Execute/Sync, as
// asyncpg and postgres.js send them): unnamed and named statements, executed again by name, and
// UNLISTEN; the replies are byte for byte direct PostgreSQL's, and the notifications arrive.
import { describe, expect, it } from 'vitest';
import { listenRig } from './helpers/listen-rig.ts';
import { ProtocolClient, bind, endAll, execute, parse, query, sync, type Msg } from './helpers/raw-protocol.ts';
import { connectPg, endQuietly } from './helpers/clients.ts';

const rig = listenRig('listen-extended', ['t']);

const hex = (msgs: readonly Msg[]): string[] => msgs.map((m) => `${m.type}:${m.body.toString('hex')}`);

const STEPS: Buffer[][] = [
  [parse('', 'LISTEN ext_unnamed'), bind('', ''), execute(), sync()],
  [parse('listen_stmt', 'LISTEN ext_named'), bind('', 'listen_stmt'), execute(), sync()],
  [query('UNLISTEN ext_named')],
  // The named statement executed again, without a Parse.
  [bind('', 'listen_stmt'), execute(), sync()],
  [parse('', 'UNLISTEN ext_unnamed'), bind('', ''), execute(), sync()],
  [parse('', 'LISTEN ext_again'), bind('', ''), execute(), sync()],
];

describe('transaction mode, pool size 1', () => {
  it('LISTEN/UNLISTEN by Parse/Bind/Execute: replies as PostgreSQL’s, notifications delivered', async () => {
    const t = rig.tenants.t!;
    const pooled = await ProtocolClient.connect(rig.pooled(t));
    const direct = await ProtocolClient.connect(rig.direct(t));
    const notifier = await connectPg(rig.direct(t));
    try {
      for (const [i, step] of STEPS.entries()) {
        const want = hex(await direct.request(...step));
        expect(hex(await pooled.request(...step)), `step ${i}`).toEqual(want);
      }
      await notifier.query(`SELECT pg_notify('ext_unnamed', 'no'), pg_notify('ext_named', 'yes'), pg_notify('ext_again', 'too')`);
      for (const c of [direct, pooled]) {
        const a: Msg[] = [];
        while (a.length < 2) a.push(...(await c.untilType('A')).filter((m) => m.type === 'A'));
        expect(a.map((m) => m.body.subarray(4).toString('utf8').split('\0').slice(0, 2))).toEqual([
          ['ext_named', 'yes'],
          ['ext_again', 'too'],
        ]);
      }
    } finally {
      await endAll([pooled, direct]);
      await endQuietly(notifier);
    }
  });
});
