import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Admission, addressKey } from './admission.ts';

class FakeSocket extends EventEmitter {
  readonly remoteAddress: string;
  readonly remotePort: number;
  constructor(remoteAddress: string, remotePort: number) {
    super();
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }
}
const sock = (address: string, port: number): Socket => new FakeSocket(address, port) as unknown as Socket;
const limits = { max_client_conn: 4, max_unauthenticated_per_address: 2 };

describe('addressKey', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6, and groups IPv6 by /64', () => {
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1')).toBe('fe80:0:0:0::/64');
  });
});

describe('Admission', () => {
  it('refuses a third unauthenticated connection from one address, not from another; logging in frees the slot', () => {
    const a = new Admission();
    const s1 = sock('10.0.0.1', 1);
    expect(a.admit(s1, limits)).toBeUndefined();
    expect(a.admit(sock('10.0.0.1', 2), limits)).toBeUndefined();
    expect(a.admit(sock('10.0.0.1', 3), limits)?.limit).toBe('max_unauthenticated_per_address');
    expect(a.admit(sock('10.0.0.2', 1), limits)).toBeUndefined();
    a.loggedIn(s1);
    a.loggedIn(s1); // twice is once
    expect(a.unauthenticatedFrom('10.0.0.1')).toBe(1);
    expect(a.admit(sock('10.0.0.1', 4), limits)).toBeUndefined();
    expect(a.open).toBe(4);
  });

  it('refuses beyond max_client_conn, logged in or not; a close frees the slot', () => {
    const a = new Admission();
    const all = [1, 2, 3, 4].map((i) => sock(`10.0.1.${i}`, i));
    for (const s of all) {
      expect(a.admit(s, limits)).toBeUndefined();
      a.loggedIn(s);
    }
    const r = a.admit(sock('10.0.2.1', 1), limits);
    expect(r?.limit).toBe('max_client_conn');
    expect(r?.message).toBe('sorry, too many clients already (limits.max_client_conn 4)');
    all[0]!.emit('close');
    expect(a.open).toBe(3);
    expect(a.admit(sock('10.0.2.1', 1), limits)).toBeUndefined();
  });

  it('a connection that closes before logging in frees its address slot', () => {
    const a = new Admission();
    const s = sock('2001:db8::5', 9);
    a.admit(s, limits);
    expect(a.unauthenticatedFrom('2001:db8::7')).toBe(1);
    s.emit('close');
    expect(a.unauthenticatedFrom('2001:db8::7')).toBe(0);
    expect(a.open).toBe(0);
  });

  it('holds no closure per connection: every admitted socket shares one close listener (memory per idle client)', () => {
    const a = new Admission();
    const s1 = sock('10.0.3.1', 1);
    const s2 = sock('10.0.3.2', 2);
    a.admit(s1, limits);
    a.admit(s2, limits);
    expect(s1.listeners('close')).toHaveLength(1);
    expect(s1.listeners('close')[0]).toBe(s2.listeners('close')[0]);
    s2.emit('close');
    expect(a.open).toBe(1);
    expect(a.unauthenticatedFrom('10.0.3.2')).toBe(0);
    expect(a.unauthenticatedFrom('10.0.3.1')).toBe(1);
  });
});
