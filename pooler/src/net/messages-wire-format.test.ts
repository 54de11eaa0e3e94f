// Our serializers produce the same bytes as node-postgres' pg-protocol (an independent
// implementation) for frontend messages, and backend messages that its parser decodes to the
// values we put in.
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { describe, expect, it } from 'vitest';
import * as m from './messages.ts';

function pgParse(buf: Buffer): BackendMessage[] {
  const out: BackendMessage[] = [];
  new Parser().parse(buf, (msg) => out.push(msg));
  return out;
}

describe('frontend messages match pg-protocol byte for byte', () => {
  it('StartupMessage', () => {
    const params = { user: 'älice', database: 'app' };
    // pg-protocol always appends client_encoding=UTF8 after the given options.
    expect(m.startupMessage({ ...params, client_encoding: 'UTF8' })).toEqual(serialize.startup(params));
  });
  it('SSLRequest, CancelRequest', () => {
    expect(m.sslRequest()).toEqual(serialize.requestSsl());
    expect(m.cancelRequest(123, -456)).toEqual(serialize.cancel(123, -456));
  });
  it('PasswordMessage, SASLInitialResponse, SASLResponse', () => {
    expect(m.passwordMessage('sëcret')).toEqual(serialize.password('sëcret'));
    expect(m.saslInitialResponse('SCRAM-SHA-256', 'n,,n=*,r=abc')).toEqual(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=*,r=abc'));
    expect(m.saslResponse('c=biws,r=abc,p=xyz')).toEqual(serialize.sendSCRAMClientFinalMessage('c=biws,r=abc,p=xyz'));
  });
  it('Query, Sync, Terminate', () => {
    expect(m.query('select ’1’')).toEqual(serialize.query('select ’1’'));
    expect(m.sync()).toEqual(serialize.sync());
    expect(m.terminate()).toEqual(serialize.end());
  });
});

describe('backend messages decode with pg-protocol', () => {
  it('authentication requests', () => {
    const salt = Buffer.from([9, 8, 7, 6]);
    const msgs = pgParse(
      Buffer.concat([
        m.authenticationOk(),
        m.authenticationCleartext(),
        m.authenticationMd5(salt),
        m.authenticationSasl(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']),
        m.authenticationSaslContinue('r=x,s=y,i=1'),
        m.authenticationSaslFinal('v=z'),
      ]),
    );
    expect(msgs.map((x) => x.name)).toEqual([
      'authenticationOk',
      'authenticationCleartextPassword',
      'authenticationMD5Password',
      'authenticationSASL',
      'authenticationSASLContinue',
      'authenticationSASLFinal',
    ]);
    expect(msgs[2]).toMatchObject({ salt });
    expect(msgs[3]).toMatchObject({ mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'] });
    expect(msgs[4]).toMatchObject({ data: 'r=x,s=y,i=1' });
    expect(msgs[5]).toMatchObject({ data: 'v=z' });
  });

  it('ParameterStatus, BackendKeyData, ReadyForQuery', () => {
    const msgs = pgParse(Buffer.concat([m.parameterStatus('TimeZone', 'Europe/Zürich'), m.backendKeyData(77, -1), m.readyForQuery('T')]));
    expect(msgs[0]).toMatchObject({ name: 'parameterStatus', parameterName: 'TimeZone', parameterValue: 'Europe/Zürich' });
    expect(msgs[1]).toMatchObject({ name: 'backendKeyData', processID: 77, secretKey: -1 });
    expect(msgs[2]).toMatchObject({ name: 'readyForQuery', status: 'T' });
  });

  it('ErrorResponse and NoticeResponse with all fields', () => {
    const [err, notice] = pgParse(
      Buffer.concat([
        m.errorResponse({ severity: 'FATAL', code: '53300', message: 'too many clients', detail: 'tenant "a" has 10', hint: 'raise max_clients' }),
        m.noticeResponse({ severity: 'WARNING', code: '01000', message: 'careful' }),
      ]),
    );
    expect(err).toMatchObject({ name: 'error', severity: 'FATAL', code: '53300', message: 'too many clients', detail: 'tenant "a" has 10', hint: 'raise max_clients' });
    expect((err as unknown as { length: number }).length).toBeGreaterThan(0);
    expect(notice).toMatchObject({ name: 'notice', severity: 'WARNING', code: '01000', message: 'careful', detail: undefined, hint: undefined });
  });

  it('RowDescription, DataRow, CommandComplete, EmptyQueryResponse', () => {
    const msgs = pgParse(
      Buffer.concat([
        m.rowDescription([
          { name: 'tenant', typeOid: 25 },
          { name: 'clients', typeOid: 20 },
        ]),
        m.dataRow(['acme', null]),
        m.dataRow(['ünï', '']),
        m.commandComplete('SHOW'),
        m.emptyQueryResponse(),
      ]),
    );
    expect(msgs[0]).toMatchObject({
      name: 'rowDescription',
      fieldCount: 2,
      fields: [
        { name: 'tenant', dataTypeID: 25, dataTypeSize: -1, format: 'text' },
        { name: 'clients', dataTypeID: 20, dataTypeSize: 8, format: 'text' },
      ],
    });
    expect(msgs[1]).toMatchObject({ name: 'dataRow', fields: ['acme', null] });
    expect(msgs[2]).toMatchObject({ name: 'dataRow', fields: ['ünï', ''] });
    expect(msgs[3]).toMatchObject({ name: 'commandComplete', text: 'SHOW' });
    expect(msgs[4]).toMatchObject({ name: 'emptyQuery' });
  });

  it('refuses strings with NUL bytes, which would break the framing', () => {
    expect(() => m.query('a\0b')).toThrow(m.MessageEncodingError);
    expect(() => m.errorResponse({ severity: 'ERROR', code: 'XX000', message: 'a\0' })).toThrow(/NUL/);
    expect(() => m.startupMessage({ 'us\0er': 'x' })).toThrow(/NUL/);
  });
});
