// ScramClientSession against our ScramServerSession, and against servers that misbehave.
import { describe, expect, it } from 'vitest';
import { createScramVerifier, parseVerifier, type ScramVerifier } from '../../../shared/src/auth/verifier.ts';
import { ProtocolError } from '../net/framer.ts';
import { ScramClientError, ScramClientSession } from './scram-client.ts';
import { ScramIterationsError, ScramKeyCache } from './scram-keys.ts';
import { ScramServerSession } from './scram-server.ts';

function verifier(password: string): ScramVerifier {
  const v = parseVerifier(createScramVerifier(password));
  if (v.kind !== 'scram') throw new Error('unreachable');
  return v;
}

async function exchange(clientPassword: string, stored: ScramVerifier): Promise<{ ok: boolean; client: ScramClientSession; serverFinal?: string }> {
  const client = new ScramClientSession(clientPassword);
  const server = new ScramServerSession(stored);
  const serverFirst = server.clientFirst(Buffer.from(client.clientFirst()));
  const result = server.clientFinal(Buffer.from(await client.serverFirst(serverFirst)));
  if (!result.ok) return { ok: false, client };
  client.serverFinal(result.serverFinal);
  return { ok: true, client, serverFinal: result.serverFinal };
}

describe('ScramClientSession', () => {
  it('authenticates against a server holding the verifier, and verifies it back', async () => {
    const r = await exchange('s3cret', verifier('s3cret'));
    expect(r.ok).toBe(true);
    expect(r.client.completed).toBe(true);
  });

  it('fails against a verifier of another password', async () => {
    const r = await exchange('s3cret', verifier('other'));
    expect(r.ok).toBe(false);
    expect(r.client.completed).toBe(false);
  });

  it('SASLpreps the password like the verifier does (NFKC, mapped-to-nothing)', async () => {
    expect((await exchange('I\u00ADX', verifier('\u2168'))).ok).toBe(true);
    expect((await exchange('pässwörd', verifier('pa\u0308sswo\u0308rd'))).ok).toBe(true);
  });

  it('starts with a gs2 header without channel binding and an empty user name', () => {
    expect(new ScramClientSession('x', { clientNonce: 'abc' }).clientFirst()).toBe('n,,n=,r=abc');
  });

  it('rejects a server signature that does not prove knowledge of the verifier', async () => {
    const client = new ScramClientSession('pw');
    const impostor = new ScramServerSession(verifier('pw'));
    const serverFirst = impostor.clientFirst(Buffer.from(client.clientFirst()));
    await client.serverFirst(serverFirst);
    expect(() => client.serverFinal(`v=${Buffer.alloc(32).toString('base64')}`)).toThrow(ScramClientError);
    expect(client.completed).toBe(false);
  });

  it('reports a server-error attribute', async () => {
    const client = new ScramClientSession('pw', { clientNonce: 'abc' });
    client.clientFirst();
    await client.serverFirst('r=abcdef,s=c2FsdA==,i=4096');
    expect(() => client.serverFinal('e=invalid-proof')).toThrow(/invalid-proof/);
  });

  const badServerFirsts: [string, string, RegExp | typeof ScramIterationsError][] = [
    ['a nonce that does not extend ours', 'r=xyzdef,s=c2FsdA==,i=4096', /nonce mismatch/],
    ['no server part in the nonce', 'r=abc,s=c2FsdA==,i=4096', /nonce mismatch/],
    ['a mandatory extension', 'm=x,r=abcdef,s=c2FsdA==,i=4096', /unsupported SCRAM extension/],
    ['missing salt', 'r=abcdef,i=4096', /malformed/],
    ['bad salt', 'r=abcdef,s=***,i=4096', /malformed salt/],
    ['zero iterations', 'r=abcdef,s=c2FsdA==,i=0', /iteration count/],
    ['non-numeric iterations', 'r=abcdef,s=c2FsdA==,i=4k', /iteration count/],
    ['absurd iterations', 'r=abcdef,s=c2FsdA==,i=2000000000', ScramIterationsError],
    ['more iterations than the default limit', 'r=abcdef,s=c2FsdA==,i=100001', /at most 100000 \(limits.max_server_scram_iterations\)/],
  ];
  it.each(badServerFirsts)('rejects a server-first-message with %s', async (_name, data, expected) => {
    const client = new ScramClientSession('pw', { clientNonce: 'abc', keys: new ScramKeyCache() });
    client.clientFirst();
    await expect(client.serverFirst(data)).rejects.toThrow(expected);
  });

  it('rejects messages out of order', async () => {
    const client = new ScramClientSession('pw');
    await expect(client.serverFirst('r=x,s=c2FsdA==,i=1')).rejects.toThrow(ProtocolError);
    expect(() => client.serverFinal('v=x')).toThrow(ProtocolError);
    client.clientFirst();
    expect(() => client.clientFirst()).toThrow(ProtocolError);
  });
});
