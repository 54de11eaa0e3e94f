// POST /tenants/{id}/rotate-password: the new password is returned once; the previous verifiers
// stay accepted until graceSeconds have passed (clientAuth.previous.expiresAt).
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScramVerifier, parseVerifier } from '../shared/src/auth/verifier.ts';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeRotate } from '../functions/api/tenants-rotate-password.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

/** PostgreSQL's md5 verifier, 'md5' || md5(password || user), computed here independently of the code under test. */
function md5Verifier(password: string, user: string): string {
  return 'md5' + createHash('md5').update(password + user).digest('hex');
}

function verifies(verifier: string, password: string): boolean {
  const v = parseVerifier(verifier);
  return v.kind === 'scram' && createScramVerifier(password, { salt: v.salt, iterations: v.iterations }) === verifier;
}

describe('POST /tenants/{id}/rotate-password', () => {
  let t: LocalTestDeps;
  let oldPassword: string;
  const now = new Date('2030-06-01T12:00:00.000Z');
  beforeEach(async () => {
    t = await localTestDeps({ now: () => now });
    const res = await invoke(makeCreate(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'acme-prod', client: { database: 'acme', user: 'app', md5: true }, destination: { host: 'db', database: 'acme', user: 'acme', password: 'destination-password' } },
    });
    oldPassword = field<string>(res.body, 'password');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const rotate = (body?: unknown) => invoke(makeRotate(t.deps), { method: 'POST', path: '/tenants/acme-prod/rotate-password', pathParameters: { id: 'acme-prod' }, ...(body !== undefined ? { body } : {}) });

  it('returns a new password and keeps the old verifiers for the default grace of an hour', async () => {
    const before = await t.deps.adapters.config.getConfigVersion();
    const res = await rotate();
    expect(res.status).toBe(200);
    const newPassword = field<string>(res.body, 'password');
    expect(newPassword).not.toBe(oldPassword);
    expect(field(res.body, 'tenant', 'auth')).toEqual({ md5: true, previousPasswordExpiresAt: '2030-06-01T13:00:00.000Z' });
    const stored = await t.deps.adapters.tenants.get('acme-prod');
    expect(stored && verifies(stored.clientAuth.scram, newPassword)).toBe(true);
    expect(stored?.clientAuth.previous && verifies(stored.clientAuth.previous.scram, oldPassword)).toBe(true);
    // md5's only salt is the user name: the old verifier is kept exactly, the new one is over the new password.
    expect(stored?.clientAuth.previous?.md5).toBe(md5Verifier(oldPassword, 'app'));
    expect(stored?.clientAuth.md5).toBe(md5Verifier(newPassword, 'app'));
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(before + 1);
  });

  it('keeps the SCRAM salt and iteration count during a grace period (one SCRAM exchange can then try both), draws a fresh salt without one', async () => {
    const saltOf = async (which: 'current' | 'previous') => {
      const a = (await t.deps.adapters.tenants.get('acme-prod'))?.clientAuth;
      const v = parseVerifier((which === 'current' ? a?.scram : a?.previous?.scram) ?? '');
      return v.kind === 'scram' ? `${v.iterations}:${v.salt.toString('base64')}` : 'not scram';
    };
    const original = await saltOf('current');
    await rotate({ graceSeconds: 60 });
    expect(await saltOf('current')).toBe(original);
    expect(await saltOf('previous')).toBe(original);
    await rotate({ graceSeconds: 0 });
    expect(await saltOf('current')).not.toBe(original);
  });

  it('takes a given password, a custom grace, and graceSeconds 0 drops the old one at once', async () => {
    const a = await rotate({ password: 'a-chosen-password-1', graceSeconds: 60 });
    expect(field(a.body, 'password')).toBe('a-chosen-password-1');
    expect(field(a.body, 'tenant', 'auth', 'previousPasswordExpiresAt')).toBe('2030-06-01T12:01:00.000Z');
    const b = await rotate({ graceSeconds: 0, md5: false });
    expect(field(b.body, 'tenant', 'auth')).toEqual({ md5: false });
    expect((await t.deps.adapters.tenants.get('acme-prod'))?.clientAuth.previous).toBeUndefined();
  });

  it('refuses bad input and a stale If-Match', async () => {
    expect((await rotate({ graceSeconds: -1 })).status).toBe(400);
    expect((await rotate({ password: 'short' })).status).toBe(400);
    const stale = await invoke(makeRotate(t.deps), { method: 'POST', path: '/tenants/acme-prod/rotate-password', pathParameters: { id: 'acme-prod' }, headers: { 'if-match': '"9"' } });
    expect(stale.status).toBe(409);
    const ghost = await invoke(makeRotate(t.deps), { method: 'POST', path: '/tenants/ghost-one/rotate-password', pathParameters: { id: 'ghost-one' } });
    expect(ghost.status).toBe(404);
  });
});
