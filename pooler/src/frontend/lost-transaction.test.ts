import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { LostTransaction, type LostReply } from './lost-transaction.ts';

const REASON = msg.errorResponse({ severity: 'ERROR', code: '57P01', message: 'terminating connection due to administrator command' });

/** The replies as "type[:detail]" strings: C:<tag>, E:<sqlstate>, Z:<status>. */
function summary(r: LostReply): string[] {
  const f = new MessageFramer(1 << 20);
  for (const b of r.replies) f.push(b);
  const out: string[] = [];
  for (let m = f.next(); m !== undefined; m = f.next()) {
    const t = String.fromCharCode(m.type);
    if (t === 'C') out.push(`C:${m.body.toString('utf8', 0, m.body.length - 1)}`);
    else if (t === 'Z') out.push(`Z:${String.fromCharCode(m.body[0]!)}`);
    else if (t === 'E') {
      const at = m.body.indexOf('C');
      out.push(`E:${m.body.toString('utf8', at + 1, m.body.indexOf(0, at))}`);
    } else out.push(t);
  }
  return out;
}

function functionCall(): Buffer {
  // FunctionCall (protocol docs, "Message Formats"): oid, 0 format codes, 0 arguments, text result.
  const body = Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x46;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const lost = (reason: Buffer | null = REASON, prepared?: (name: string) => Buffer | undefined): LostTransaction =>
  new LostTransaction(1 << 20, reason, prepared);

describe('LostTransaction', () => {
  it('tells the reason once, then 25P02; a bare ROLLBACK ends the block', () => {
    const t = lost();
    expect(summary(t.onClientData(serialize.query('SELECT 1')))).toEqual(['E:57P01', 'Z:E']);
    expect(summary(t.onClientData(serialize.query('SELECT 1')))).toEqual(['E:25P02', 'Z:E']);
    const r = t.onClientData(Buffer.concat([serialize.query('ROLLBACK'), serialize.query('SELECT 2')]));
    expect(summary(r)).toEqual(['C:ROLLBACK', 'Z:I']);
    expect(r.ended).toBe(true);
    expect(r.rest).toEqual(serialize.query('SELECT 2'));
  });

  it('ROLLBACK TO SAVEPOINT does not end the block', () => {
    const t = lost(null);
    const r = t.onClientData(serialize.query('ROLLBACK TO SAVEPOINT s'));
    expect(summary(r)).toEqual(['E:25P02', 'Z:E']);
    expect(r.ended).toBe(false);
  });

  it('hands the statements after ROLLBACK in the same Query on as a Query of their own', () => {
    const r = lost().onClientData(serialize.query('rollback;  SELECT 1; SELECT 2'));
    expect(summary(r)).toEqual(['C:ROLLBACK']);
    expect(r.ended).toBe(true);
    expect(r.rest).toEqual(serialize.query('  SELECT 1; SELECT 2'));
  });

  it('an empty query is answered as PostgreSQL does in a failed block', () => {
    expect(summary(lost().onClientData(serialize.query(' -- nothing')))).toEqual(['I', 'Z:E']);
  });

  it('FunctionCall gets an error and ReadyForQuery', () => {
    expect(summary(lost(null).onClientData(functionCall()))).toEqual(['E:25P02', 'Z:E']);
  });

  it('CopyData/CopyDone/CopyFail are ignored, as PostgreSQL ignores them outside COPY', () => {
    const r = lost(null).onClientData(Buffer.concat([serialize.copyData(Buffer.from('x')), serialize.copyDone(), serialize.sync()]));
    expect(summary(r)).toEqual(['Z:E']);
  });

  it('a lone Sync reports the state (with the reason if not told yet)', () => {
    const t = lost();
    expect(summary(t.onClientData(serialize.sync()))).toEqual(['E:57P01', 'Z:E']);
    expect(summary(t.onClientData(serialize.sync()))).toEqual(['Z:E']);
  });

  it('after an error, messages up to Sync are discarded, including an exit statement', () => {
    const t = lost(null);
    const r = t.onClientData(
      Buffer.concat([
        serialize.parse({ text: 'SELECT 1' }),
        serialize.query('ROLLBACK'),
        serialize.parse({ text: 'ROLLBACK' }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    expect(summary(r)).toEqual(['E:25P02', 'Z:E']);
    expect(r.ended).toBe(false);
  });

  it('Parse/Bind/Describe/Execute/Sync of the unnamed ROLLBACK ends the block', () => {
    const r = lost(null).onClientData(
      Buffer.concat([
        serialize.parse({ text: 'ROLLBACK' }),
        serialize.describe({ type: 'S', name: '' }),
        serialize.bind({}),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({}),
        serialize.sync(),
        serialize.query('SELECT 1'),
      ]),
    );
    expect(summary(r)).toEqual(['1', 't', 'n', '2', 'n', 'C:ROLLBACK', 'Z:I']);
    expect(r.ended).toBe(true);
    expect(r.rest).toEqual(serialize.query('SELECT 1'));
  });

  it('after Execute of ROLLBACK, a message other than Sync is handed on', () => {
    const next = serialize.parse({ text: 'SELECT 1' });
    const r = lost(null).onClientData(Buffer.concat([serialize.parse({ text: 'ROLLBACK' }), serialize.bind({}), serialize.execute({}), next, serialize.sync()]));
    expect(summary(r)).toEqual(['1', '2', 'C:ROLLBACK']);
    expect(r.rest).toEqual(Buffer.concat([next, serialize.sync()]));
  });

  it('ROLLBACK AND CHAIN by Execute: ROLLBACK, then the chained block fails', () => {
    const t = lost(null);
    const r = t.onClientData(
      Buffer.concat([
        serialize.parse({ text: 'ROLLBACK AND CHAIN' }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.parse({ text: 'INSERT INTO t VALUES (1)' }),
        serialize.sync(),
      ]),
    );
    expect(summary(r)).toEqual(['1', '2', 'C:ROLLBACK', 'E:25P02', 'Z:E']);
    expect(r.ended).toBe(false);
  });

  it('refuses what it cannot answer faithfully: a named Parse, a named portal, parameters, a named Close', () => {
    const cases = [
      [serialize.parse({ name: 'n', text: 'ROLLBACK' })],
      [serialize.parse({ text: 'ROLLBACK' }), serialize.bind({ portal: 'p' })],
      [serialize.parse({ text: 'ROLLBACK' }), serialize.bind({ values: ['1'] })],
      [serialize.close({ type: 'S', name: 'n' })],
      [serialize.parse({ text: 'ROLLBACK; SELECT 1' })],
      [serialize.bind({})],
      [serialize.execute({})],
    ];
    for (const c of cases) {
      const r = lost(null).onClientData(Buffer.concat([...c, serialize.sync()]));
      expect(summary(r).slice(-2)).toEqual(['E:25P02', 'Z:E']);
      expect(r.ended).toBe(false);
    }
  });

  it('closing the unnamed statement or portal succeeds', () => {
    const r = lost(null).onClientData(Buffer.concat([serialize.close({ type: 'S', name: '' }), serialize.close({ type: 'P', name: '' }), serialize.sync()]));
    expect(summary(r)).toEqual(['3', '3', 'Z:E']);
  });

  it('a named statement prepared before the loss is looked up', () => {
    const prepared = new Map([['rb', Buffer.from('ROLLBACK\0\0\0')], ['sel', Buffer.from('SELECT 1\0\0\0')]]);
    const t = lost(null, (n) => prepared.get(n));
    expect(summary(t.onClientData(Buffer.concat([serialize.bind({ statement: 'sel' }), serialize.sync()])))).toEqual(['E:25P02', 'Z:E']);
    const r = t.onClientData(Buffer.concat([serialize.bind({ statement: 'rb' }), serialize.execute({}), serialize.sync()]));
    expect(summary(r)).toEqual(['2', 'C:ROLLBACK', 'Z:I']);
    expect(r.ended).toBe(true);
  });

  it('Terminate ends it', () => {
    expect(lost().onClientData(serialize.end())).toMatchObject({ ended: true, terminated: true });
  });
});
