// SCRAM-SHA-256-PLUS (channel binding tls-server-end-point) between the pooler's SCRAM client and
// server sessions, and PostgreSQL's negotiation rules (auth-scram.c, read_client_first_message):
// the binding must match, the mechanism and the gs2 flag must agree, and a client that says "I
// could bind but you cannot" to a server that offered binding is refused as a downgrade.
import { describe, expect, it } from 'vitest';
import { createScramVerifier, parseVerifier, type ScramVerifier } from '../../../shared/src/auth/verifier.ts';
import { ScramClientSession } from './scram-client.ts';
import { SCRAM_SHA_256, SCRAM_SHA_256_PLUS, ScramServerSession } from './scram-server.ts';

const password = 'correct horse';
const v = parseVerifier(createScramVerifier(password, { iterations: 4096 })) as ScramVerifier;
const certHash = Buffer.alloc(32, 7);
const otherHash = Buffer.alloc(32, 8);

/** A whole exchange; returns the server's verdict or the error it threw. */
async function exchange(server: ScramServerSession, client: ScramClientSession, mechanism = client.mechanism): Promise<unknown> {
  try {
    const serverFirst = server.clientFirst(Buffer.from(client.clientFirst()), mechanism);
    const r = server.clientFinal(Buffer.from(await client.serverFirst(serverFirst)));
    if (r.ok) client.serverFinal(r.serverFinal);
    return r.ok;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('SCRAM-SHA-256-PLUS', () => {
  it('offers PLUS first only when the connection has a binding', () => {
    expect(new ScramServerSession(v, { channelBinding: certHash }).mechanisms).toEqual([SCRAM_SHA_256_PLUS, SCRAM_SHA_256]);
    expect(new ScramServerSession(v).mechanisms).toEqual([SCRAM_SHA_256]);
  });

  it('authenticates when both sides bind to the same certificate hash', async () => {
    const client = new ScramClientSession(password, { channelBinding: certHash });
    expect(client.mechanism).toBe(SCRAM_SHA_256_PLUS);
    expect(await exchange(new ScramServerSession(v, { channelBinding: certHash }), client)).toBe(true);
    expect(client.completed).toBe(true);
  });

  it('refuses a client that saw another certificate (a relay in the middle)', async () => {
    const client = new ScramClientSession(password, { channelBinding: otherHash });
    expect(await exchange(new ScramServerSession(v, { channelBinding: certHash }), client)).toBe('SCRAM channel binding check failed');
  });

  it('still accepts plain SCRAM-SHA-256 ("n": the client does not bind) on a connection that could', async () => {
    expect(await exchange(new ScramServerSession(v, { channelBinding: certHash }), new ScramClientSession(password))).toBe(true);
  });

  it('refuses "y" when the server did offer binding (the offer was stripped on the way)', () => {
    const server = new ScramServerSession(v, { channelBinding: certHash });
    expect(() => server.clientFirst(Buffer.from('y,,n=,r=abcdef'), SCRAM_SHA_256)).toThrow(
      'SCRAM channel binding negotiation error: The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.',
    );
  });

  it('refuses a mechanism that disagrees with the gs2 flag', () => {
    const plusWithoutData = new ScramServerSession(v, { channelBinding: certHash });
    expect(() => plusWithoutData.clientFirst(Buffer.from('n,,n=,r=abcdef'), SCRAM_SHA_256_PLUS)).toThrow(/selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data/);
    const plainWithData = new ScramServerSession(v, { channelBinding: certHash });
    expect(() => plainWithData.clientFirst(Buffer.from('p=tls-server-end-point,,n=,r=abcdef'), SCRAM_SHA_256)).toThrow(
      /selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data/,
    );
  });

  it('refuses PLUS where it was not offered, and channel-binding types other than tls-server-end-point', () => {
    expect(() => new ScramServerSession(v).clientFirst(Buffer.from('p=tls-server-end-point,,n=,r=abcdef'), SCRAM_SHA_256_PLUS)).toThrow(
      'SASL mechanism "SCRAM-SHA-256-PLUS" is not offered on this connection',
    );
    expect(() => new ScramServerSession(v, { channelBinding: certHash }).clientFirst(Buffer.from('p=tls-unique,,n=,r=abcdef'), SCRAM_SHA_256_PLUS)).toThrow(
      'unsupported SCRAM channel-binding type "tls-unique"',
    );
  });

  it('refuses a PLUS client whose c= leaves the binding data out', async () => {
    const server = new ScramServerSession(v, { channelBinding: certHash });
    const client = new ScramClientSession(password, { channelBinding: certHash });
    const first = server.clientFirst(Buffer.from(client.clientFirst()), SCRAM_SHA_256_PLUS);
    const final = (await client.serverFirst(first)).replace(/^c=[^,]*/, `c=${Buffer.from('p=tls-server-end-point,,').toString('base64')}`);
    expect(() => server.clientFinal(Buffer.from(final))).toThrow('SCRAM channel binding check failed');
  });
});
