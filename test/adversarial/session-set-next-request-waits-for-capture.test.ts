// A request sent the moment a SET's transaction has answered (issue 14 item 1): its server
// connection is still in the reset, which reads the client's settings back; the next request must
// not take the other, idle server connection before that answer — it would be given the settings
// the client had before the SET. Pool of 2, both connections open and the other one idle.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly } from '../helpers/clients.ts';
import { ProtocolClient, query, rows } from '../helpers/raw-protocol.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('set-pipelined', { pool: { size: 2 } });

describe('the request right after a SET', () => {
  it('sees the setting, not the one before', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    // Two server connections open (two clients at once), then idle.
    const warm = await Promise.all([connectPg(rig.conn()), connectPg(rig.conn())]);
    await Promise.all(warm.map((w) => w.query('SELECT pg_sleep(0.2)')));
    try {
      for (let i = 0; i < 30; i++) {
        const value = `${1001 + 2 * i}ms`;
        await a.simple(`SET lock_timeout = '${value}'`);
        expect(rows(await a.request(query('SHOW lock_timeout'))), `round ${i}`).toEqual([[value]]);
      }
    } finally {
      a.destroy();
      await Promise.all(warm.map((o) => endQuietly(o)));
    }
  });
});
