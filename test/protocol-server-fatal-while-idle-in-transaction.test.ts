// The server connection of a transaction-mode client that sits idle in a transaction is
// terminated (pg_terminate_backend: PostgreSQL sends FATAL 57P01, then hangs up). The client must
// not see that FATAL — its session lives on in the pooler — only that its transaction is lost:
// the next query gets an ERROR, ROLLBACK ends the lost transaction, and the session goes on, on
// another server connection. The same with a client that uses named prepared statements (tracked
// mode), where the FATAL used to reach the client before the pooler's own answer.
import { describe, expect, it } from 'vitest';
import { connectPg, until } from './helpers/clients.ts';
import { ProtocolClient, endAll, errorFields, parse, query, summarizeAll, sync } from './helpers/raw-protocol.ts';
import { poolerPerMode } from './helpers/pooler-per-mode.ts';
import { superuserConn } from './helpers/tenants.ts';

const env = poolerPerMode('fatal-idle-tx', { transaction: 2, session: 1 });

describe('transaction mode', () => {
  it.each(['fast path', 'tracked'])('a terminated server under an idle transaction: no FATAL to the client, an ERROR, then the session goes on (%s)', async (path) => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await ProtocolClient.connect(env.pooled(env.tenants.transaction));
      clients.push(c);
      if (path === 'tracked') expect((await c.request(parse('named_1', 'SELECT 1'), sync())).map((m) => m.type)).toEqual(['1', 'Z']);
      await c.simple('BEGIN');
      const pid = (await c.simple('SELECT pg_backend_pid()'))[0]![0]!;
      const open = (): number => {
        const s = env.poolStats(env.tenants.transaction);
        return s.serversActive + s.serversIdle + s.serversConnecting;
      };
      const before = open();
      const admin = await connectPg(superuserConn(env.pg));
      try {
        await admin.query('SELECT pg_terminate_backend($1)', [Number(pid)]);
      } finally {
        await admin.end();
      }
      // Until the FATAL and the hang-up have reached the pooler (it has dropped that server
      // connection). Whatever the pooler sent meanwhile is read with the reply to the next query:
      // an ERROR and ReadyForQuery, never a FATAL.
      await until(() => open() === before - 1, 20_000, 'the pooler to drop the terminated server connection');
      const msgs = await c.request(query('SELECT 1'));
      const severities = msgs.filter((m) => m.type === 'E').map((m) => errorFields(m.body).S);
      expect(severities.length, JSON.stringify(summarizeAll(msgs))).toBeGreaterThan(0);
      expect(severities, JSON.stringify(summarizeAll(msgs))).not.toContain('FATAL');
      expect(msgs.at(-1)?.type).toBe('Z');
      await c.simple('ROLLBACK');
      // The session goes on, on another server connection.
      const again = (await c.simple('SELECT pg_backend_pid()'))[0]![0]!;
      expect(again).not.toBe(pid);
    } finally {
      await endAll(clients);
    }
  });
});
