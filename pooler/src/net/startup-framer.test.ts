// The untyped first packets: every kind, split at every offset, and the malformed ones PostgreSQL
// itself rejects (ProcessStartupPacket in src/backend/tcop/backend_startup.c).
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './framer.ts';
import { cancelRequest, sslRequest, startupMessage } from './messages.ts';
import { StartupFramer, type StartupPacket } from './startup.ts';

function packet(code: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(code, 4);
  payload.copy(b, 8);
  return b;
}
const gssencRequest = packet(80877104);
const startup = startupMessage({ user: 'alice', database: 'app', application_name: 'tëst', options: '-c x=1' });
const stream = Buffer.concat([sslRequest(), gssencRequest, cancelRequest(42, -7), startup]);
const expected: StartupPacket[] = [
  { kind: 'ssl' },
  { kind: 'gssenc' },
  { kind: 'cancel', processId: 42, secretKey: -7 },
  { kind: 'startup', majorVersion: 3, minorVersion: 0, params: { user: 'alice', database: 'app', application_name: 'tëst', options: '-c x=1' } },
];

function drain(f: StartupFramer, out: StartupPacket[]): void {
  for (let p = f.next(); p; p = f.next()) out.push(p);
}

function parseOne(b: Buffer): StartupPacket | undefined {
  const f = new StartupFramer();
  f.push(b);
  return f.next();
}

describe('StartupFramer', () => {
  it('yields every packet when the stream is split at any offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new StartupFramer();
      const out: StartupPacket[] = [];
      f.push(stream.subarray(0, cut));
      drain(f, out);
      f.push(stream.subarray(cut));
      drain(f, out);
      expect(out).toEqual(expected);
    }
  });

  it('yields every packet when fed one byte at a time', () => {
    const f = new StartupFramer();
    const out: StartupPacket[] = [];
    for (let i = 0; i < stream.length; i++) {
      f.push(stream.subarray(i, i + 1));
      drain(f, out);
    }
    expect(out).toEqual(expected);
  });

  it('takeRest hands over the bytes after the startup packet', () => {
    const f = new StartupFramer();
    f.push(Buffer.concat([startup, Buffer.from('Qxyz')]));
    expect(f.next()?.kind).toBe('startup');
    expect(f.takeRest()).toEqual(Buffer.from('Qxyz'));
    expect(f.buffered).toBe(0);
  });

  it('defaults database to the user name', () => {
    expect(parseOne(startupMessage({ user: 'bob' }))).toEqual({ kind: 'startup', majorVersion: 3, minorVersion: 0, params: { user: 'bob', database: 'bob' } });
    expect(parseOne(startupMessage({ user: 'bob', database: '' }))).toMatchObject({ params: { database: 'bob' } });
  });

  it('returns a newer 3.x minor version for the caller to negotiate down', () => {
    const b = startupMessage({ user: 'u' });
    b.writeInt32BE((3 << 16) | 2, 4);
    expect(parseOne(b)).toMatchObject({ kind: 'startup', majorVersion: 3, minorVersion: 2 });
  });

  it('keeps hostile parameter names as plain data', () => {
    const p = parseOne(startupMessage({ user: 'u', ['__proto__']: 'x' }));
    expect(p?.kind === 'startup' && Object.getPrototypeOf(p.params)).toBe(null);
    expect(p?.kind === 'startup' && p.params['__proto__']).toBe('x');
  });

  it('waits for the rest of a packet', () => {
    expect(parseOne(startup.subarray(0, startup.length - 1))).toBeUndefined();
    expect(parseOne(startup.subarray(0, 3))).toBeUndefined();
  });
});

describe('StartupFramer rejects malformed packets', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['length below 8', Buffer.from([0, 0, 0, 7, 0, 3, 0, 0]), /invalid length of startup packet: 7/],
    ['length above 10000', Buffer.from([0, 0, 0x27, 0x11, 0, 3, 0, 0]), /invalid length of startup packet: 10001/],
    ['negative length', Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 3, 0, 0]), /invalid length/],
    ['protocol 2.0', packet(2 << 16, Buffer.from('user\0u\0\0')), /unsupported frontend protocol 2\.0/],
    ['protocol 4.0', packet(4 << 16, Buffer.from('user\0u\0\0')), /unsupported frontend protocol 4\.0/],
    ['unknown 1234.x code', packet((1234 << 16) | 9999), /unsupported frontend protocol 1234\.9999/],
    ['cancel of 12 bytes', packet(80877102, Buffer.alloc(4)), /invalid length of cancel request/],
    ['cancel of 20 bytes', packet(80877102, Buffer.alloc(12)), /invalid length of cancel request/],
    ['SSL request with payload', packet(80877103, Buffer.alloc(4)), /invalid length of SSL request/],
    ['startup with no parameters and no terminator', packet(196608), /expected terminator as last byte/],
    ['value without terminator', packet(196608, Buffer.from('user\0u')), /expected terminator as last byte/],
    ['name without value', packet(196608, Buffer.from('user\0u\0database\0')), /expected terminator as last byte/],
    ['missing final terminator', packet(196608, Buffer.from('user\0u\0')), /expected terminator as last byte/],
    ['bytes after the terminator', packet(196608, Buffer.from('user\0u\0\0x')), /expected terminator as last byte/],
    ['no user', packet(196608, Buffer.from('database\0d\0\0')), /no PostgreSQL user name specified/],
    ['empty user', packet(196608, Buffer.from('user\0\0\0')), /no PostgreSQL user name specified/],
    ['a TLS ClientHello (direct SSL)', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), /direct TLS negotiation/],
  ];
  it.each(cases)('%s', (_name, bytes, message) => {
    const f = new StartupFramer();
    f.push(bytes);
    expect(() => f.next()).toThrow(ProtocolError);
    expect(() => f.next()).toThrow(message);
  });

  it('accepts an empty startup packet only as far as the user check', () => {
    expect(() => parseOne(packet(196608, Buffer.from([0])))).toThrow(/no PostgreSQL user name/);
  });
});
