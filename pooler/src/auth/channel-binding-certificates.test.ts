// tls-server-end-point data (RFC 5929 §4.1) for certificates made with the openssl CLI: the hash
// of the DER certificate with the signature's digest (SHA-256 for sha256WithRSA, SHA-384 for
// ecdsa-with-SHA384, SHA-256 in place of SHA-1), none for Ed25519 (as PostgreSQL refuses), and
// none for bytes that are not a certificate.
import { execFileSync } from 'node:child_process';
import { X509Certificate, hash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signatureAlgorithmOid, tlsServerEndPoint } from './channel-binding.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-cb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function selfSigned(name: string, keyArgs: string[], digest?: string): Buffer {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-nodes', ...keyArgs, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, ...(digest ? [`-${digest}`] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new X509Certificate(readFileSync(cert)).raw;
}

describe('tls-server-end-point', () => {
  it('RSA with SHA-256: the SHA-256 of the certificate', () => {
    const der = selfSigned('rsa256', ['-newkey', 'rsa:2048'], 'sha256');
    expect(signatureAlgorithmOid(der)).toBe('1.2.840.113549.1.1.11');
    expect(tlsServerEndPoint(der)).toEqual(hash('sha256', der, 'buffer'));
  });

  it('ECDSA with SHA-384: the SHA-384 of the certificate', () => {
    const der = selfSigned('ec384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'sha384');
    expect(signatureAlgorithmOid(der)).toBe('1.2.840.10045.4.3.3');
    expect(tlsServerEndPoint(der)).toEqual(hash('sha384', der, 'buffer'));
  });

  it('RSA with SHA-1: SHA-256 instead (RFC 5929 §4.1)', () => {
    const der = selfSigned('rsa1', ['-newkey', 'rsa:2048'], 'sha1');
    expect(signatureAlgorithmOid(der)).toBe('1.2.840.113549.1.1.5');
    expect(tlsServerEndPoint(der)).toEqual(hash('sha256', der, 'buffer'));
  });

  it('Ed25519: no binding (its signature names no separate digest)', () => {
    const der = selfSigned('ed', ['-newkey', 'ed25519']);
    expect(signatureAlgorithmOid(der)).toBe('1.3.101.112');
    expect(tlsServerEndPoint(der)).toBeUndefined();
  });

  it('not a certificate: no binding, no throw', () => {
    for (const junk of [Buffer.alloc(0), Buffer.from([0x30]), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), Buffer.from('hello')]) {
      expect(tlsServerEndPoint(junk)).toBeUndefined();
    }
  });
});
