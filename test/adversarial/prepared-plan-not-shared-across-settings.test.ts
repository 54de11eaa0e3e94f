// A named statement's server-side statement is shared by the tenant's clients (prepared/registry.ts)
// and a server connection keeps it across checkouts when the transaction that prepared it ran
// nothing (a Parse and a Describe: no reset, backend/reset.ts). PostgreSQL analyses a statement
// at Parse under the session's settings and re-analyses it later only for a changed search_path
// (plancache.c): a setting such as transform_null_equals, which follows each client since issue 14,
// would be baked into the statement one client prepared and run by another client whose session
// says otherwise. Nothing one client sets may reach another.
import { describe, expect, it } from 'vitest';
import { bind, describe as describeMsg, execute, parse, ProtocolClient, rows, sync } from '../helpers/raw-protocol.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('plan-settings', { pool: { size: 1 } });

const TEXT = 'SELECT count(*)::text FROM (VALUES (NULL::int)) v(x) WHERE x = NULL';

describe('a statement prepared under one client’s settings is not run under another’s', () => {
  it('transform_null_equals set by one client does not change what another client’s statement means', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    const b = await ProtocolClient.connect(rig.conn());
    try {
      await a.simple('SET transform_null_equals = on');
      // a: Parse and Describe only (nothing runs: the connection goes back without a reset).
      const prepared = await a.request(parse('a_stmt', TEXT), describeMsg('S', 'a_stmt'), sync());
      expect(prepared.map((m) => m.type)).toContain('1');
      // b (transform_null_equals off, as on PostgreSQL by default) runs the same text.
      const got = await b.request(parse('b_stmt', TEXT), bind('', 'b_stmt'), execute(), sync());
      expect(rows(got)).toEqual([['0']]);
      // and a, whose session has it on, sees its own.
      const own = await a.request(bind('', 'a_stmt'), execute(), sync());
      expect(rows(own)).toEqual([['1']]);
    } finally {
      await a.end();
      await b.end();
    }
  });
});
