// LISTEN in transaction mode: the pooler listens for its clients on the tenant's listening
// connection and must know the channel, so it supports LISTEN sent as a simple Query or a
// prepared statement holding that one statement (tests listen-notify-*). A LISTEN it cannot see —
// among other statements of a multi-statement Query — would run on a
// shared server session that belongs to whichever client runs a transaction on it next, silently
// losing (or misdelivering) notifications. The pooler must answer it with a clear error (SQLSTATE
// 0A000 feature_not_supported, naming LISTEN), and the server connection must not be left
// listening. In session mode LISTEN/NOTIFY simply work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg } from './helpers/clients.ts';
import { bind, errorFields, execute, parse, ProtocolClient, query, sync, type Msg } from './helpers/raw-protocol.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let txn: TestTenant;
let session: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  txn = await createTenant(pg, { id: 'listen-txn', pool: { mode: 'transaction', size: 1 } });
  session = await createTenant(pg, { id: 'listen-session', pool: { mode: 'session', size: 2 } });
  pooler = await startPooler(poolerConfig([txn.config, session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** NOTIFY sent directly on PostgreSQL (bypassing the pooler). */
async function notify(t: TestTenant, channel: string, payload: string): Promise<void> {
  const c = await connectPg(destinationConn(t));
  try {
    await c.query(`SELECT pg_notify($1, $2)`, [channel, payload]);
  } finally {
    await c.end();
  }
}

const variants: { name: string; named: boolean; channel: string; bytes: Buffer }[] = [
  { name: 'second statement of a multi-statement Query', named: false, channel: 'chan_multi', bytes: query('SELECT 1; LISTEN chan_multi') },
  { name: 'first statement of a multi-statement Query', named: false, channel: 'chan_first', bytes: query('LISTEN chan_first; SELECT 1') },
  { name: 'multi-statement Query, after named statements', named: true, channel: 'chan_tracked', bytes: query('SELECT 1; LISTEN chan_tracked') },
]

describe('transaction mode', () => {
  it.each(variants)('LISTEN ($name) gets a clear 0A000 error', async ({ named, channel, bytes }) => {
    const c = await ProtocolClient.connect(poolerConn(pooler!, txn));
    try {
      if (named) {
        const r = await c.request(parse('n1', 'SELECT 1 AS one'), bind('', 'n1'), execute(), sync());
        expect(r.map((m) => m.type)).toEqual(['1', '2', 'D', 'C', 'Z']);
      }
      await c.send(bytes);
      const got: Msg[] = [];
      for (let m = await c.next(); m !== undefined; m = await c.next()) {
        got.push(m);
        if (m.type === 'Z') break;
      }
      const errors = got.filter((m) => m.type === 'E').map((m) => errorFields(m.body));
      const summary = JSON.stringify(errors.length > 0 ? errors : got.map((m) => m.type));
      expect(errors.length, `no error for LISTEN; got ${summary}`).toBeGreaterThan(0);
      expect(errors[0]!.C, summary).toBe('0A000');
      expect(errors[0]!.M, summary).toMatch(/LISTEN/);
      // If the session survived (ERROR, not FATAL), it goes on working.
      if (errors[0]!.V === 'ERROR') expect(await c.simple('SELECT 2')).toEqual([['2']]);
      // The one server connection is not left listening on that channel.
      const other = await ProtocolClient.connect(poolerConn(pooler!, txn));
      try {
        expect(await other.simple(`SELECT count(*) FROM pg_listening_channels() AS c WHERE c = '${channel}'`), 'server connection left listening').toEqual([['0']]);
      } finally {
        await other.end();
      }
    } finally {
      await c.end();
    }
  });
});

describe('session mode', () => {
  it('LISTEN works and the notification arrives', async () => {
    const c = await ProtocolClient.connect(poolerConn(pooler!, session));
    try {
      expect((await c.request(query('LISTEN chan_session'))).map((m) => m.type)).toEqual(['C', 'Z']);
      await notify(session, 'chan_session', 'hello');
      const got = await c.untilType('A');
      const a = got.at(-1)!;
      expect(a.body.subarray(4).toString('utf8').split('\0').slice(0, 2)).toEqual(['chan_session', 'hello']);
    } finally {
      await c.end();
    }
  });
});
