// md5 password responses: the client side's formula and the server side's check against the
// stored "md5..." verifier agree, and anything else is refused.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMd5Verifier } from '../../../shared/src/auth/verifier.ts';
import { md5Response, verifyMd5Response } from './md5.ts';

const salt = Buffer.from([0x01, 0x02, 0xfe, 0xff]);

describe('md5 responses', () => {
  it('are "md5" + md5(md5(password || user) || salt)', () => {
    const inner = createHash('md5').update('secretalice').digest('hex');
    const outer = createHash('md5').update(inner).update(salt).digest('hex');
    expect(md5Response('secret', 'alice', salt)).toBe('md5' + outer);
  });

  it('verify against the stored verifier, with or without the prefix and in any hex case', () => {
    const stored = createMd5Verifier('sëcret', 'älice');
    const response = md5Response('sëcret', 'älice', salt);
    expect(verifyMd5Response(stored, salt, response)).toBe(true);
    expect(verifyMd5Response(stored.slice(3), salt, response)).toBe(true);
    expect(verifyMd5Response('md5' + stored.slice(3).toUpperCase(), salt, Buffer.from(response))).toBe(true);
  });

  it('refuse a wrong password, another user, another salt, garbage and malformed verifiers', () => {
    const stored = createMd5Verifier('secret', 'alice');
    expect(verifyMd5Response(stored, salt, md5Response('Secret', 'alice', salt))).toBe(false);
    expect(verifyMd5Response(stored, salt, md5Response('secret', 'bob', salt))).toBe(false);
    expect(verifyMd5Response(stored, salt, md5Response('secret', 'alice', Buffer.from([1, 2, 3, 4])))).toBe(false);
    expect(verifyMd5Response(stored, salt, '')).toBe(false);
    expect(verifyMd5Response(stored, salt, 'secret')).toBe(false);
    expect(verifyMd5Response(stored, salt, md5Response('secret', 'alice', salt) + 'x')).toBe(false);
    expect(verifyMd5Response('md5xyz', salt, md5Response('secret', 'alice', salt))).toBe(false);
    expect(verifyMd5Response('', salt, 'md5')).toBe(false);
  });
});
