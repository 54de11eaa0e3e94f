// The pool opens a server connection under the application_name of the client it is for
// (backend/pool.ts openServer, a5c3855). A client's start-up packet may be up to PostgreSQL's
// 10,000 bytes (net/startup.ts), and its application_name nearly all of it; the pooler's start-up
// packet to PostgreSQL carries that name plus its own user, database and (for a tenant with a
// schema) search_path. Past 10,000 bytes PostgreSQL drops the connection without a word
// ("invalid length of startup packet"): every connection opened for that client fails, counts as
// a failed connect (the pool backs off, suspects its target) and the client waits out
// checkout_timeout — as does every client queued behind it while the pool cannot grow. PostgreSQL
// keeps only 63 bytes of an application_name (NAMEDATALEN), so nothing needs more.
import { describe, expect, it } from 'vitest';
import { within } from '../helpers/clients.ts';
import { endAll, errorCodes, ProtocolClient, query, rows, startupMessage } from '../helpers/raw-protocol.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('long-app-name', { schema: 'app', pool: { size: 2, checkout_timeout: 60 } });

describe('a client with an application_name that fills its start-up packet', () => {
  it('gets a server connection opened for it', async () => {
    const c = rig.conn();
    const base = startupMessage({ user: c.user, database: c.database, application_name: '' }).length;
    const name = 'n'.repeat(10_000 - base);
    expect(startupMessage({ user: c.user, database: c.database, application_name: name }).length).toBe(10_000);
    const holder = await ProtocolClient.connect(c);
    let long: ProtocolClient | undefined;
    try {
      // The pool's first connection is busy: the long-named client's request needs a new one.
      expect(errorCodes(await holder.request(query('BEGIN; SELECT 1')))).toEqual([]);
      long = await ProtocolClient.connect(c, { application_name: name });
      const stats = () => rig.pooler.poolStats().find((p) => p.tenantId === rig.tenant.id)!;
      const errorsBefore = stats().totalServerConnectErrors;
      const answer = long.request(query("SELECT length(current_setting('application_name'))::text"));
      const replies = await within(answer, 20_000, 'the long-named client’s query').catch((err: Error) => {
        throw new Error(`${err.message}; server connects failed meanwhile: ${stats().totalServerConnectErrors - errorsBefore}`);
      });
      expect(errorCodes(replies)).toEqual([]);
      expect(rows(replies)).toEqual([['63']]);
      expect(stats().totalServerConnectErrors - errorsBefore, 'failed server connects').toBe(0);
    } finally {
      await endAll([holder, long]);
    }
  }, 60_000);
});
