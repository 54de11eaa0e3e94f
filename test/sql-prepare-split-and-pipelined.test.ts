// A SQL PREPARE is mapped however its Query reaches the pooler: split across TCP reads (the
// fast path cannot tell from the first bytes, and hands the client to the framed path), or
// pipelined behind and before other queries in one write. Each statement answers as on
// PostgreSQL, and the statement is the client's in later transactions.
import { expect, it } from 'vitest';
import { ProtocolClient, query, rows, summarizeAll } from './helpers/raw-protocol.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-split', { pool: { size: 1 } });

it.each([3, 9, 20])('a PREPARE split after %i bytes of its text, behind a SELECT in the same write', async (cut) => {
  const c = await ProtocolClient.connect(rig.conn());
  try {
    const prepare = query("  PREPARE sp AS SELECT 'split'::text AS s");
    const head = Buffer.concat([query('SELECT 1'), prepare.subarray(0, 5 + cut)]);
    await c.send(head);
    // The first query's answer arrives while the PREPARE is incomplete: the two writes are two reads.
    expect(rows(await c.untilReady())).toEqual([['1']]);
    await c.send(prepare.subarray(5 + cut));
    expect(summarizeAll(await c.untilReady())).toEqual(['C:PREPARE', 'Z:I']);
    expect(rows(await c.request(query('EXECUTE sp')))).toEqual([['split']]);
  } finally {
    await c.end();
  }
}, 60_000);

it('PREPARE and EXECUTE pipelined between other queries in one write', async () => {
  const c = await ProtocolClient.connect(rig.conn());
  try {
    await c.send(Buffer.concat([query('SELECT 2'), query('PREPARE pp(int) AS SELECT $1 + 100'), query('EXECUTE pp(1)'), query('SELECT 3'), query('EXECUTE pp(2)')]));
    const replies = await c.untilReady(5);
    expect(rows(replies)).toEqual([['2'], ['101'], ['3'], ['102']]);
    expect(summarizeAll(replies).filter((s) => s.startsWith('C:'))).toEqual([
      'C:SELECT 1',
      'C:PREPARE',
      'C:SELECT 1',
      'C:SELECT 1',
      'C:SELECT 1',
    ]);
    expect(rows(await c.request(query('EXECUTE pp(3)')))).toEqual([['103']]);
  } finally {
    await c.end();
  }
}, 60_000);
