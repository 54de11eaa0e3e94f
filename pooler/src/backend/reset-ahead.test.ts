// The reset sent ahead of the next client's request (reset-ahead.ts): which servers may take it,
// which queued bytes may ride behind it, and how its replies are taken off the server's stream —
// split at every byte offset.
import { describe, expect, it } from 'vitest';
import * as msg from '../net/messages.ts';
import { discardAheadSupported, DISCARD_AHEAD, mayRide, ResetReplies } from './reset-ahead.ts';

function typed(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
const PARSE_COMPLETE = typed('1');
const BIND_COMPLETE = typed('2');
const DISCARDED = Buffer.concat([typed('C', cstr('DISCARD ALL')), typed('3')]);
const parameterStatus = (name: string, value: string): Buffer => typed('S', Buffer.concat([cstr(name), cstr(value)]));
const NOTICE = typed('N', Buffer.concat([Buffer.from('SNOTICE\0'), Buffer.from('C00000\0'), Buffer.from('Mhello\0'), Buffer.from([0])]));
const ERROR = typed('E', Buffer.concat([Buffer.from('SERROR\0'), Buffer.from('C57014\0'), Buffer.from('Mcanceling statement due to statement timeout\0'), Buffer.from([0])]));
const ROW = typed('D', Buffer.from([0, 1, 0, 0, 0, 1, 0x31]));
const READY = typed('Z', Buffer.from('I'));
const parse = typed('P', Buffer.concat([cstr(''), cstr('SELECT 1'), Buffer.from([0, 0])]));
const bind = typed('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]));
const execute = typed('E', Buffer.from([0, 0, 0, 0, 0]));
const describe_ = typed('D', Buffer.from('P\0'));
const sync = typed('S');
const flush = typed('H');
const terminate = typed('X');

/** Feeds `stream` to a fresh ResetReplies in the two pieces split at `at`. */
function feed(stream: Buffer, at: number, seen: [string, string][] = []): Buffer | null | 'failed' {
  const r = new ResetReplies((n, v) => seen.push([n, v]));
  const first = r.consume(stream.subarray(0, at));
  if (first !== null) return first === 'failed' ? first : Buffer.concat([first, stream.subarray(at)]);
  return r.consume(stream.subarray(at));
}

describe('the reset sent ahead', () => {
  it('is Parse, Bind, Execute of DISCARD ALL and Close of the unnamed statement, with no Sync', () => {
    const sql = 'DISCARD ALL';
    const expected = Buffer.concat([
      typed('P', Buffer.concat([cstr(''), cstr(sql), Buffer.from([0, 0])])),
      typed('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])),
      typed('E', Buffer.from([0, 0, 0, 0, 0])),
      typed('C', Buffer.from('S\0')),
    ]);
    expect(DISCARD_AHEAD.equals(expected)).toBe(true);
    expect(DISCARD_AHEAD.includes(msg.sync())).toBe(false);
  });

  it.each([
    ['15.4 (Debian 15.4-1.pgdg120+1)', true],
    ['18.0', true],
    ['16beta2', true],
    ['14.5', true],
    ['14.4', false],
    ['13.8', true],
    ['13.7', false],
    ['12.12', true],
    ['12.11', false],
    ['11.17', true],
    ['11.16', false],
    ['10.22', true],
    ['10.21', false],
    ['9.6.24', false],
    ['', false],
    [undefined, false],
    ['garbage', false],
  ])('server_version %s: ahead %s', (version, ok) => {
    expect(discardAheadSupported(version)).toBe(ok);
  });
});

describe('mayRide', () => {
  it.each([
    ['one Query', [msg.query('SELECT 1')], true],
    ['Parse Bind Execute Sync', [Buffer.concat([parse, bind, execute, sync])], true],
    ['the same in three chunks', [parse, Buffer.concat([bind, execute]), sync], true],
    ['Parse Bind Describe Execute Flush', [Buffer.concat([parse, bind, describe_, execute, flush])], true],
    ['Parse Bind Execute without Sync', [Buffer.concat([parse, bind, execute])], false],
    ['a Query, then another', [Buffer.concat([msg.query('SELECT 1'), msg.query('SELECT 2')])], false],
    ['a Sync, then more', [Buffer.concat([parse, bind, execute, sync, parse])], false],
    ['a Sync, then a Sync', [Buffer.concat([sync, sync])], false],
    ['a Query, then a Flush', [Buffer.concat([msg.query('SELECT 1'), flush])], false],
    ['Terminate', [terminate], false],
    ['a message cut short', [msg.query('SELECT 1').subarray(0, 7)], false],
    ['a header cut short', [Buffer.concat([parse, sync.subarray(0, 3)])], false],
    ['an impossible length', [Buffer.from([0x51, 0, 0, 0, 2])], false],
    ['nothing', [Buffer.alloc(0)], false],
  ])('%s: %s', (_name, chunks, ok) => {
    expect(mayRide(chunks)).toBe(ok);
  });
});

describe('ResetReplies', () => {
  const answered = Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE, DISCARDED]);
  const theirs = Buffer.concat([ROW, typed('C', cstr('SELECT 1')), READY]);

  it('takes the replies off and hands back what follows, split at every offset', () => {
    const stream = Buffer.concat([answered, theirs]);
    for (let at = 0; at <= stream.length; at++) {
      const rest = feed(stream, at);
      expect(rest, `split at ${at}`).not.toBe('failed');
      expect((rest as Buffer).equals(theirs), `split at ${at}`).toBe(true);
    }
  });

  it('drops a notice and keeps a ParameterStatus the reset sent, at every offset', () => {
    const stream = Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE, NOTICE, parameterStatus('is_superuser', 'off'), DISCARDED, theirs]);
    for (let at = 0; at <= stream.length; at++) {
      const seen: [string, string][] = [];
      const rest = feed(stream, at, seen);
      expect((rest as Buffer).equals(theirs), `split at ${at}`).toBe(true);
      expect(seen).toEqual([['is_superuser', 'off']]);
    }
  });

  it('answers nothing until DISCARD ALL has completed', () => {
    const r = new ResetReplies(() => {});
    expect(r.consume(Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE]))).toBeNull();
    expect(r.consume(typed('C', cstr('DISCARD ALL'))), 'nor before the CloseComplete').toBeNull();
    const rest = r.consume(typed('3'));
    expect(rest !== null && rest !== 'failed' && rest.length === 0).toBe(true);
  });

  it('fails on an ErrorResponse, at every offset: the next client’s bytes were skipped', () => {
    const stream = Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE, ERROR, READY]);
    for (let at = 0; at <= stream.length; at++) {
      const r = new ResetReplies(() => {});
      const first = r.consume(stream.subarray(0, at));
      const outcome = first === null ? r.consume(stream.subarray(at)) : first;
      expect(outcome, `split at ${at}`).toBe('failed');
    }
  });

  it.each([
    ['another command tag', Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE, typed('C', cstr('SELECT 1'))])],
    ['a CloseComplete before DISCARD ALL', Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE, typed('3')])],
    ['DISCARD ALL twice', Buffer.concat([PARSE_COMPLETE, BIND_COMPLETE, typed('C', cstr('DISCARD ALL')), typed('C', cstr('DISCARD ALL'))])],
    ['a ReadyForQuery first', READY],
    ['rows', ROW],
    ['an impossible length', Buffer.from([0x31, 0, 0, 0, 1])],
    ['an oversized message', Buffer.from([0x4e, 0, 2, 0, 0])],
  ])('fails on %s', (_name, stream) => {
    expect(new ResetReplies(() => {}).consume(stream)).toBe('failed');
  });
});
