// Slow-path decoders: they invert our serializers, and every truncation or trailing byte is a
// ProtocolError rather than an out-of-bounds read.
import { describe, expect, it } from 'vitest';
import { MessageFramer, ProtocolError } from './framer.ts';
import * as m from './messages.ts';
import {
  parseAuthRequest,
  parseBackendKeyData,
  parseErrorFields,
  parseParameterStatus,
  parsePasswordMessage,
  parseSaslInitialResponse,
  parseSaslResponse,
} from './parse.ts';

function body(msg: Buffer): Buffer {
  const f = new MessageFramer(1 << 20);
  f.push(msg);
  const out = f.next();
  if (!out) throw new Error('incomplete');
  return out.body;
}

describe('parse round-trips', () => {
  it('error fields', () => {
    expect(parseErrorFields(body(m.errorResponse({ severity: 'FATAL', code: '28P01', message: 'nö', detail: 'd', hint: 'h' })))).toEqual({
      S: 'FATAL',
      V: 'FATAL',
      C: '28P01',
      M: 'nö',
      D: 'd',
      H: 'h',
    });
    expect(parseErrorFields(body(m.noticeResponse({ severity: 'NOTICE', code: '00000', message: '' })))).toEqual({ S: 'NOTICE', V: 'NOTICE', C: '00000', M: '' });
  });

  it('authentication requests', () => {
    expect(parseAuthRequest(body(m.authenticationOk()))).toEqual({ kind: 'ok' });
    expect(parseAuthRequest(body(m.authenticationCleartext()))).toEqual({ kind: 'cleartext' });
    expect(parseAuthRequest(body(m.authenticationMd5(Buffer.from('abcd'))))).toEqual({ kind: 'md5', salt: Buffer.from('abcd') });
    expect(parseAuthRequest(body(m.authenticationSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'])))).toEqual({ kind: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(parseAuthRequest(body(m.authenticationSasl([])))).toEqual({ kind: 'sasl', mechanisms: [] });
    expect(parseAuthRequest(body(m.authenticationSaslContinue('r=a,s=b,i=4096')))).toEqual({ kind: 'sasl-continue', data: 'r=a,s=b,i=4096' });
    expect(parseAuthRequest(body(m.authenticationSaslFinal('v=x')))).toEqual({ kind: 'sasl-final', data: 'v=x' });
  });

  it('ParameterStatus, BackendKeyData', () => {
    expect(parseParameterStatus(body(m.parameterStatus('a', '')))).toEqual({ name: 'a', value: '' });
    expect(parseBackendKeyData(body(m.backendKeyData(2147483647, -2147483648)))).toEqual({ processId: 2147483647, secretKey: -2147483648 });
  });

  it('PasswordMessage is returned raw', () => {
    expect(parsePasswordMessage(body(m.passwordMessage('pässword')))).toEqual(Buffer.from('pässword'));
    expect(parsePasswordMessage(body(m.passwordMessage('')))).toEqual(Buffer.alloc(0));
  });

  it('SASLResponse is the raw data (no terminator), unlike PasswordMessage', () => {
    const b = body(m.saslResponse('c=biws,r=x,p=y'));
    expect(parseSaslResponse(b)).toEqual(Buffer.from('c=biws,r=x,p=y'));
    expect(() => parsePasswordMessage(b)).toThrow(ProtocolError);
  });

  it('SASLInitialResponse, including an absent initial response (-1)', () => {
    expect(parseSaslInitialResponse(body(m.saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=x')))).toEqual({ mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=,r=x') });
    const absent = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    expect(parseSaslInitialResponse(absent)).toEqual({ mechanism: 'SCRAM-SHA-256', data: Buffer.alloc(0) });
  });
});

describe('parse rejects truncated and padded bodies', () => {
  // Every strict prefix of these bodies is invalid.
  const strict: [string, Buffer, (b: Buffer) => unknown][] = [
    ['error fields', body(m.errorResponse({ severity: 'ERROR', code: 'XX000', message: 'm' })), parseErrorFields],
    ['auth ok', body(m.authenticationOk()), parseAuthRequest],
    ['auth md5', body(m.authenticationMd5(Buffer.from('abcd'))), parseAuthRequest],
    ['auth sasl', body(m.authenticationSasl(['SCRAM-SHA-256'])), parseAuthRequest],
    ['ParameterStatus', body(m.parameterStatus('a', 'b')), parseParameterStatus],
    ['BackendKeyData', body(m.backendKeyData(1, 2)), parseBackendKeyData],
    ['PasswordMessage', body(m.passwordMessage('pw')), parsePasswordMessage],
    ['SASLInitialResponse', body(m.saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=x')), parseSaslInitialResponse],
  ];
  it.each(strict)('%s: every truncation and one trailing byte', (_name, full, parse) => {
    for (let n = 0; n < full.length; n++) expect(() => parse(full.subarray(0, n))).toThrow(ProtocolError);
    expect(() => parse(Buffer.concat([full, Buffer.from([0x41])]))).toThrow(ProtocolError);
    expect(() => parse(full)).not.toThrow();
  });

  it('SASL continue/final need at least the auth code', () => {
    const full = body(m.authenticationSaslContinue('x'));
    for (let n = 0; n < 4; n++) expect(() => parseAuthRequest(full.subarray(0, n))).toThrow(ProtocolError);
  });

  it('unsupported auth codes and bad SASL data lengths', () => {
    const gss = Buffer.alloc(4);
    gss.writeInt32BE(7);
    expect(() => parseAuthRequest(gss)).toThrow(/unsupported authentication request code 7/);
    const bad = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0xff, 0xff, 0xff, 0xfe])]);
    expect(() => parseSaslInitialResponse(bad)).toThrow(ProtocolError);
    const tooLong = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0, 0, 0, 10]), Buffer.from('short')]);
    expect(() => parseSaslInitialResponse(tooLong)).toThrow(/truncated/);
  });
});
