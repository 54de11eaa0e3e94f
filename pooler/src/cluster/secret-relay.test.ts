// The workers' decrypts through the supervisor (secret-relay.ts): one SecretBox call per distinct
// (ciphertext, context) however many workers ask, a SecretError stays a per-tenant SecretError on
// the worker's side, an outage stays an outage, and a supervisor that never answers fails the load
// instead of hanging it.
import { describe, expect, it } from 'vitest';
import { SecretError } from '../../../shared/src/domain/errors.ts';
import type { EncryptionContext, SecretBox } from '../../../shared/src/ports/secret-box.ts';
import type { FromWorker } from './messages.ts';
import { RelayedSecretBox, SharedDecrypts } from './secret-relay.ts';

/** A SecretBox whose answers the test releases: `plain:<x>` opens to x, `bad` is a SecretError, `down` an outage. */
function fakeBox(): SecretBox & { calls: string[]; release: () => void } {
  const waiting: Array<() => void> = [];
  const box = {
    calls: [] as string[],
    release: () => waiting.splice(0).forEach((f) => f()),
    encrypt: () => Promise.reject(new Error('unused')),
    decrypt: (ciphertext: string, context: EncryptionContext) => {
      box.calls.push(`${context.tenantId}/${ciphertext}`);
      return new Promise<string>((resolve, reject) =>
        waiting.push(() => {
          if (ciphertext === 'bad') reject(new SecretError());
          else if (ciphertext === 'down') reject(Object.assign(new Error('ThrottlingException: rate exceeded'), { name: 'ThrottlingException' }));
          else resolve(ciphertext.replace(/^plain:/, ''));
        }),
      );
    },
  };
  return box;
}

/** N worker boxes wired to one SharedDecrypts, as the supervisor wires them over IPC. */
function workers(shared: SharedDecrypts, n: number): RelayedSecretBox[] {
  const boxes: RelayedSecretBox[] = [];
  for (let i = 0; i < n; i++) {
    const send = (m: FromWorker): boolean => {
      if (m.t !== 'decrypt') return false;
      void shared.decrypt(m.ciphertext, m.context).then((result) => setImmediate(() => boxes[i]!.answered({ t: 'decrypted', id: m.id, result })));
      return true;
    };
    boxes.push(new RelayedSecretBox(send));
  }
  return boxes;
}

const ctx = (tenantId: string): EncryptionContext => ({ tenantId, clusterId: 'main' });

describe('decrypts shared by the workers of one machine', () => {
  it('makes one SecretBox call per distinct ciphertext and context, however many workers ask', async () => {
    const box = fakeBox();
    const shared = new SharedDecrypts(box);
    const ws = workers(shared, 4);
    const asks = ws.flatMap((w) => [w.decrypt('plain:pw-a', ctx('a')), w.decrypt('plain:pw-b', ctx('b'))]);
    // Same ciphertext, another tenant's context: a separate call (KMS decides under that context).
    asks.push(ws[0]!.decrypt('plain:pw-a', ctx('other')));
    await new Promise((r) => setImmediate(r));
    box.release();
    expect(await Promise.all(asks)).toEqual([...Array.from({ length: 4 }, () => ['pw-a', 'pw-b']).flat(), 'pw-a']);
    expect(box.calls.sort()).toEqual(['a/plain:pw-a', 'b/plain:pw-b', 'other/plain:pw-a']);
    expect(shared.calls).toBe(3);
    // Within the sharing window a later worker load is answered without a call.
    expect(await ws[3]!.decrypt('plain:pw-b', ctx('b'))).toBe('pw-b');
    expect(shared.calls).toBe(3);
  });

  it('keeps a SecretError a SecretError, and an outage an ordinary error that is asked again next time', async () => {
    const box = fakeBox();
    const shared = new SharedDecrypts(box);
    const [w] = workers(shared, 1);
    const bad = w!.decrypt('bad', ctx('a')).catch((e: unknown) => e);
    const down = w!.decrypt('down', ctx('a')).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    box.release();
    expect(await bad).toBeInstanceOf(SecretError);
    const outage = await down;
    expect(outage).not.toBeInstanceOf(SecretError);
    expect((outage as Error).message).toMatch(/ThrottlingException/);
    // Failures are not kept: the next load asks the SecretBox again.
    const again = w!.decrypt('down', ctx('a')).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    box.release();
    await again;
    expect(shared.calls).toBe(3);
  });

  it('forgets a shared password after the window', async () => {
    const box = fakeBox();
    const shared = new SharedDecrypts(box, 5);
    const first = shared.decrypt('plain:x', ctx('a'));
    box.release();
    await first;
    await new Promise((r) => setTimeout(r, 30));
    const second = shared.decrypt('plain:x', ctx('a'));
    box.release();
    expect(await second).toEqual({ ok: true, plaintext: 'x' });
    expect(shared.calls).toBe(2);
  });

  it('fails the decrypt (not as a SecretError) when the supervisor is gone or never answers', async () => {
    const listenersBefore = process.listenerCount('message');
    const gone = new RelayedSecretBox(() => false);
    const e1 = await gone.decrypt('plain:x', ctx('a')).catch((e: unknown) => e);
    expect(e1).not.toBeInstanceOf(SecretError);
    expect((e1 as Error).message).toMatch(/supervisor is gone/);
    const silent = new RelayedSecretBox(() => true, 20);
    const e2 = await silent.decrypt('plain:x', ctx('a')).catch((e: unknown) => e);
    expect((e2 as Error).message).toMatch(/no answer within 20 ms/);
    // Nothing left listening on the process once nothing is outstanding.
    expect(process.listenerCount('message')).toBe(listenersBefore);
  });
});
