// SCRAM channel binding type "tls-server-end-point" (RFC 5929 §4.1), the only type PostgreSQL
// supports (SCRAM-SHA-256-PLUS; protocol docs, "SASL Authentication"): the binding data is the hash
// of the server's own TLS certificate, so a client that checks it knows that the party it proved
// its password to is the one holding that certificate — a man in the middle with another
// certificate cannot relay the exchange.
//
// The hash function is the one the certificate's signature uses, except that MD5 and SHA-1 are
// replaced by SHA-256 (RFC 5929 §4.1). Like PostgreSQL (be_tls_get_certificate_hash, which refuses
// certificates whose signature names no single digest), a certificate signed with RSASSA-PSS or
// EdDSA — or, here, with a SHA-224 signature — gets no channel binding: the pooler then offers
// plain SCRAM-SHA-256 only.
import { hash } from 'node:crypto';

/** Signature algorithm OIDs (dotted) → the digest the binding uses. */
const DIGEST_OF_SIGNATURE: ReadonlyMap<string, 'sha256' | 'sha384' | 'sha512'> = new Map([
  ['1.2.840.113549.1.1.4', 'sha256'], // md5WithRSAEncryption → SHA-256
  ['1.2.840.113549.1.1.5', 'sha256'], // sha1WithRSAEncryption → SHA-256
  ['1.2.840.113549.1.1.11', 'sha256'], // sha256WithRSAEncryption
  ['1.2.840.113549.1.1.12', 'sha384'], // sha384WithRSAEncryption
  ['1.2.840.113549.1.1.13', 'sha512'], // sha512WithRSAEncryption
  ['1.2.840.10045.4.1', 'sha256'], // ecdsa-with-SHA1 → SHA-256
  ['1.2.840.10045.4.3.2', 'sha256'], // ecdsa-with-SHA256
  ['1.2.840.10045.4.3.3', 'sha384'], // ecdsa-with-SHA384
  ['1.2.840.10045.4.3.4', 'sha512'], // ecdsa-with-SHA512
]);

/**
 * The tls-server-end-point binding data for the certificate `der` (the server's own, DER), or
 * undefined when its signature algorithm names no usable digest (or the DER cannot be read).
 */
export function tlsServerEndPoint(der: Buffer): Buffer | undefined {
  const oid = signatureAlgorithmOid(der);
  if (oid === undefined) return undefined;
  const digest = DIGEST_OF_SIGNATURE.get(oid);
  return digest === undefined ? undefined : hash(digest, der, 'buffer');
}

/**
 * The OID of Certificate.signatureAlgorithm (RFC 5280 §4.1: SEQUENCE { tbsCertificate,
 * signatureAlgorithm AlgorithmIdentifier, signatureValue }), read with just enough DER.
 */
export function signatureAlgorithmOid(der: Buffer): string | undefined {
  const cert = readTlv(der, 0);
  if (cert === undefined || cert.tag !== 0x30) return undefined;
  const tbs = readTlv(der, cert.contentStart);
  if (tbs === undefined || tbs.tag !== 0x30) return undefined;
  const alg = readTlv(der, tbs.end);
  if (alg === undefined || alg.tag !== 0x30) return undefined;
  const oid = readTlv(der, alg.contentStart);
  if (oid === undefined || oid.tag !== 0x06) return undefined;
  return decodeOid(der.subarray(oid.contentStart, oid.end));
}

interface Tlv {
  tag: number;
  contentStart: number;
  end: number;
}

/** One DER tag-length-value at `at` (definite lengths only, as DER requires). */
function readTlv(b: Buffer, at: number): Tlv | undefined {
  if (at + 2 > b.length) return undefined;
  const tag = b[at]!;
  let len = b[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > b.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > b.length) return undefined;
  return { tag, contentStart: p, end: p + len };
}

/** X.690 §8.19: the first byte holds the first two arcs, then base-128 groups. */
function decodeOid(b: Buffer): string | undefined {
  if (b.length === 0) return undefined;
  const first = b[0]!;
  const arcs = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}
