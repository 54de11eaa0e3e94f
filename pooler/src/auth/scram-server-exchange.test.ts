// ScramServerSession: the RFC 7677 §3 example exchange byte for byte, then the ways a client
// message can be wrong (PostgreSQL's read_client_first_message / read_client_final_message).
import { describe, expect, it } from 'vitest';
import { createScramVerifier, parseVerifier, type ScramVerifier } from '../../../shared/src/auth/verifier.ts';
import { ProtocolError } from '../net/framer.ts';
import { ScramServerSession } from './scram-server.ts';

const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
function verifier(password: string, s = salt): ScramVerifier {
  const v = parseVerifier(createScramVerifier(password, { salt: s, iterations: 4096 }));
  if (v.kind !== 'scram') throw new Error('unreachable');
  return v;
}
const pencil = verifier('pencil');
const clientNonce = 'rOprNGfwEbeRWgbNEkqO';
const serverNonce = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const fullNonce = clientNonce + serverNonce;
const rfcClientFirst = `n,,n=user,r=${clientNonce}`;
const rfcServerFirst = `r=${fullNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
const rfcClientFinal = `c=biws,r=${fullNonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
const rfcServerFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

function session(v: ScramVerifier | ScramVerifier[] | undefined = pencil): ScramServerSession {
  return new ScramServerSession(v, { serverNonce });
}

describe('ScramServerSession', () => {
  it('reproduces the RFC 7677 example exchange', () => {
    const s = session();
    expect(s.clientFirst(Buffer.from(rfcClientFirst))).toBe(rfcServerFirst);
    expect(s.clientFinal(Buffer.from(rfcClientFinal))).toEqual({ ok: true, serverFinal: rfcServerFinal, verifierIndex: 0 });
  });

  it('draws a fresh 18-byte server nonce per exchange, also across the nonce batch refill', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const first = new ScramServerSession(pencil).clientFirst(Buffer.from(rfcClientFirst));
      const nonce = first.slice(2 + clientNonce.length, first.indexOf(','));
      // PostgreSQL's SCRAM_RAW_NONCE_LEN, base64: 24 characters, never all zero bytes.
      expect(Buffer.from(nonce, 'base64')).toHaveLength(18);
      expect(nonce).not.toBe(Buffer.alloc(18).toString('base64'));
      seen.add(nonce);
    }
    expect(seen.size).toBe(1000);
  });

  it('rejects a wrong password (a proof made for another verifier)', () => {
    const s = session(verifier('not pencil'));
    s.clientFirst(Buffer.from(rfcClientFirst));
    expect(s.clientFinal(Buffer.from(rfcClientFinal))).toEqual({ ok: false });
  });

  it('rejects a proof with one flipped bit', () => {
    const s = session();
    s.clientFirst(Buffer.from(rfcClientFirst));
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    proof[0] = (proof[0] as number) ^ 1;
    expect(s.clientFinal(Buffer.from(`c=biws,r=${fullNonce},p=${proof.toString('base64')}`))).toEqual({ ok: false });
  });

  it('ignores the user name in the message (PostgreSQL uses the startup user)', () => {
    const s = session();
    // The name is part of the AuthMessage, so the RFC proof no longer fits, but the exchange proceeds.
    expect(s.clientFirst(Buffer.from(`n,,n=someone-else,r=${clientNonce}`))).toBe(rfcServerFirst);
    expect(s.clientFinal(Buffer.from(rfcClientFinal))).toEqual({ ok: false });
  });

  it('accepts the "y" flag (client could bind, server cannot) with c=eSws', () => {
    const s = session();
    s.clientFirst(Buffer.from(`y,,n=user,r=${clientNonce}`));
    // Wrong proof for this AuthMessage, but the channel-binding check passes (no throw).
    expect(s.clientFinal(Buffer.from(`c=eSws,r=${fullNonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`))).toEqual({ ok: false });
  });

  it('ignores extensions after the nonce', () => {
    const s = session();
    expect(s.clientFirst(Buffer.from(`n,,n=user,r=${clientNonce},x=ext`))).toBe(rfcServerFirst);
  });

  it('accepts any of several verifiers sharing salt and iterations (rotation)', () => {
    const s = session([verifier('new password'), pencil]);
    s.clientFirst(Buffer.from(rfcClientFirst));
    expect(s.clientFinal(Buffer.from(rfcClientFinal))).toEqual({ ok: true, serverFinal: rfcServerFinal, verifierIndex: 1 });
    expect(() => new ScramServerSession([pencil, verifier('x', Buffer.alloc(16, 7))])).toThrow(/share salt/);
  });

  it('runs a mock exchange for an unknown user that always fails, with a stable salt per user', () => {
    const saltOf = (s: string): string => s.split(',')[1] as string;
    const a = new ScramServerSession(undefined, { user: 'ghost' });
    const first = a.clientFirst(Buffer.from(rfcClientFirst));
    expect(first).toMatch(new RegExp(`^r=${clientNonce}[A-Za-z0-9+/=]{24},s=[A-Za-z0-9+/=]{24},i=4096$`));
    const again = new ScramServerSession(undefined, { user: 'ghost' }).clientFirst(Buffer.from(rfcClientFirst));
    expect(saltOf(again)).toBe(saltOf(first));
    const other = new ScramServerSession(undefined, { user: 'phantom' }).clientFirst(Buffer.from(rfcClientFirst));
    expect(saltOf(other)).not.toBe(saltOf(first));
    const nonce = first.split(',')[0]?.slice(2);
    expect(a.clientFinal(Buffer.from(`c=biws,r=${nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`))).toEqual({ ok: false });
  });
});

describe('ScramServerSession rejects malformed client-first-messages', () => {
  const cases: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['channel binding requested', `p=tls-server-end-point,,n=,r=${clientNonce}`, /channel binding/],
    ['unknown flag', `x,,n=,r=${clientNonce}`, /channel-binding flag/],
    ['missing comma after flag', `n;,n=,r=${clientNonce}`, /comma expected/],
    ['authorization identity', `n,a=admin,n=,r=${clientNonce}`, /authorization identity/],
    ['mandatory extension', `n,,m=ext,n=,r=${clientNonce}`, /unsupported SCRAM extension/],
    ['no user attribute', `n,,r=${clientNonce}`, /user name attribute expected/],
    ['no nonce', 'n,,n=user', /nonce attribute expected/],
    ['empty nonce', 'n,,n=user,r=', /nonce contains invalid/],
    ['non-printable nonce', 'n,,n=user,r=ab\u0001c', /nonce contains invalid/],
    ['garbage attribute', `n,,n=user,r=${clientNonce},garbage`, /attribute expected/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    expect(() => session().clientFirst(Buffer.from(input))).toThrow(ProtocolError);
    expect(() => session().clientFirst(Buffer.from(input))).toThrow(message);
  });
});

describe('ScramServerSession rejects malformed client-final-messages', () => {
  const proof = 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
  const cases: [string, string, RegExp][] = [
    ['no proof', `c=biws,r=${fullNonce}`, /proof expected/],
    ['proof not last', `c=biws,r=${fullNonce},p=${proof},x=1`, /proof expected/],
    ['no channel binding', `r=${fullNonce},p=${proof}`, /channel-binding attribute expected/],
    ['no nonce', `c=biws,p=${proof}`, /nonce attribute expected/],
    ['wrong channel-binding header', `c=eSws,r=${fullNonce},p=${proof}`, /channel binding check failed/],
    ['invalid base64 channel binding', `c=b!ws,r=${fullNonce},p=${proof}`, /not valid base64/],
    ['nonce of another exchange', `c=biws,r=${clientNonce}other,p=${proof}`, /nonce mismatch/],
    ['short proof', `c=biws,r=${fullNonce},p=${Buffer.alloc(31).toString('base64')}`, /malformed proof/],
    ['invalid base64 proof', `c=biws,r=${fullNonce},p=%%%%`, /not valid base64/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    const s = session();
    s.clientFirst(Buffer.from(rfcClientFirst));
    expect(() => s.clientFinal(Buffer.from(input))).toThrow(message);
  });

  it('messages out of order', () => {
    const s = session();
    expect(() => s.clientFinal(Buffer.from(rfcClientFinal))).toThrow(ProtocolError);
    const t = session();
    t.clientFirst(Buffer.from(rfcClientFirst));
    expect(() => t.clientFirst(Buffer.from(rfcClientFirst))).toThrow(ProtocolError);
    t.clientFinal(Buffer.from(rfcClientFinal));
    expect(() => t.clientFinal(Buffer.from(rfcClientFinal))).toThrow(ProtocolError);
  });
});
