// Every message the pooler produces, concatenated, must come out of MessageFramer identically no
// matter how TCP splits the stream: at every byte offset, and one byte at a time.
import { describe, expect, it } from 'vitest';
import { MessageFramer } from './framer.ts';
import * as m from './messages.ts';

const typedMessages: Buffer[] = [
  m.authenticationOk(),
  m.authenticationCleartext(),
  m.authenticationMd5(Buffer.from([1, 2, 3, 4])),
  m.authenticationSasl(['SCRAM-SHA-256']),
  m.authenticationSaslContinue('r=abc,s=c2FsdA==,i=4096'),
  m.authenticationSaslFinal('v=c2ln'),
  m.parameterStatus('server_version', '17.0 (Switchyard)'),
  m.backendKeyData(1234, -5678),
  m.readyForQuery('I'),
  m.errorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed for user "ä"', detail: 'd', hint: 'h' }),
  m.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hello' }),
  m.commandComplete('SELECT 2'),
  m.emptyQueryResponse(),
  m.rowDescription([{ name: 'a', typeOid: 25 }, { name: 'b', typeOid: 20 }]),
  m.dataRow(['x', null, '']),
  m.negotiateProtocolVersion(0, ['_pq_.x']),
  m.passwordMessage('md5abc'),
  m.saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=nonce'),
  m.saslResponse('c=biws,r=nonce,p=proof'),
  m.query('select 1'),
  m.sync(),
  m.terminate(),
];
const stream = Buffer.concat(typedMessages);

function expectAll(out: { type: number; body: Buffer }[]): void {
  expect(out.length).toBe(typedMessages.length);
  out.forEach((msg, i) => {
    const want = typedMessages[i] as Buffer;
    expect(msg.type).toBe(want[0]);
    expect(Buffer.compare(msg.body, want.subarray(5))).toBe(0);
  });
}

function drain(f: MessageFramer, out: { type: number; body: Buffer }[]): void {
  for (let msg = f.next(); msg; msg = f.next()) out.push(msg);
}

describe('MessageFramer splitting', () => {
  it('yields every message when the stream is split at any offset into two chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new MessageFramer(1 << 20);
      const out: { type: number; body: Buffer }[] = [];
      f.push(stream.subarray(0, cut));
      drain(f, out);
      f.push(stream.subarray(cut));
      drain(f, out);
      expectAll(out);
      expect(f.buffered).toBe(0);
    }
  });

  it('yields every message when fed one byte at a time', () => {
    const f = new MessageFramer(1 << 20);
    const out: { type: number; body: Buffer }[] = [];
    for (let i = 0; i < stream.length; i++) {
      f.push(stream.subarray(i, i + 1));
      drain(f, out);
    }
    expectAll(out);
  });

  it('keeps returned bodies intact after later pushes (views are never overwritten)', () => {
    const f = new MessageFramer(1 << 20);
    const bodies: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 3) {
      f.push(Buffer.from(stream.subarray(i, i + 3))); // copies: the framer must not rely on the caller's memory
      for (let msg = f.next(); msg; msg = f.next()) bodies.push(msg.body);
    }
    expect(Buffer.concat(bodies)).toEqual(Buffer.concat(typedMessages.map((b) => b.subarray(5))));
  });

  it('takeRest returns the unconsumed bytes, once', () => {
    const f = new MessageFramer(1 << 20);
    const first = typedMessages[0] as Buffer;
    f.push(stream.subarray(0, first.length + 3));
    expect(f.next()?.type).toBe(first[0]);
    expect(f.next()).toBeUndefined();
    expect(f.takeRest()).toEqual(stream.subarray(first.length, first.length + 3));
    expect(f.takeRest().length).toBe(0);
    expect(f.buffered).toBe(0);
  });

  it('reassembles a large message from many small chunks', () => {
    const big = m.query('x'.repeat(200_000));
    const f = new MessageFramer(1 << 20);
    for (let i = 0; i < big.length; i += 100) {
      f.push(big.subarray(i, i + 100));
      if (i + 100 < big.length) expect(f.next()).toBeUndefined();
    }
    expect(f.next()?.body).toEqual(big.subarray(5));
  });
});
