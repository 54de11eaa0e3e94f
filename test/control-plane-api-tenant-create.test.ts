// POST /tenants through the real handler with local adapters: the password comes back once, only
// verifiers and a ciphertext are stored, the config version is bumped, and retries are idempotent.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseVerifier } from '../shared/src/auth/verifier.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { makeHandler } from '../functions/api/tenants-create.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

const route = { method: 'POST', path: '/tenants', routeKey: 'POST /tenants' };
const request = {
  tenantId: 'acme-prod',
  client: { database: 'acme', user: 'app' },
  destination: { host: '10.0.0.5', port: 5432, database: 'acme_db', user: 'acme_owner', password: 'destination-secret-1' },
};

describe('POST /tenants', () => {
  let t: LocalTestDeps;
  beforeEach(async () => {
    t = await localTestDeps();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('creates the tenant, returns a generated password once and stores only verifiers and a ciphertext', async () => {
    const handler = makeHandler(t.deps);
    const res = await invoke(handler, { ...route, body: request });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/tenants/acme-prod');
    expect(res.headers['cache-control']).toBe('no-store');
    const password = field<string>(res.body, 'password');
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(field(res.body, 'tenant', 'tenantId')).toBe('acme-prod');
    expect(field(res.body, 'tenant', 'destination')).toEqual({ host: '10.0.0.5', port: 5432, database: 'acme_db', user: 'acme_owner' });
    expect(res.rawBody).not.toContain('SCRAM');
    expect(res.rawBody).not.toContain('destination-secret-1');

    const stored = await t.deps.adapters.tenants.get('acme-prod');
    expect(stored?.clientAuth.scram && parseVerifier(stored.clientAuth.scram).kind).toBe('scram');
    expect(stored?.clientAuth.md5).toBeUndefined();
    const ciphertext = stored?.destination.passwordCiphertext ?? '';
    expect(ciphertext).not.toContain('destination-secret-1');
    await expect(t.deps.adapters.secrets.decrypt(ciphertext, tenantSecretContext('acme-prod', {}))).resolves.toBe('destination-secret-1');
    // Nothing on disk holds either plaintext password.
    const onDisk = readFileSync(join(t.stateDir, 'store.json'), 'utf8');
    expect(onDisk).not.toContain(password);
    expect(onDisk).not.toContain('destination-secret-1');
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(1);
  });

  it('stores an md5 verifier when asked and keeps a supplied client password', async () => {
    const handler = makeHandler(t.deps);
    const res = await invoke(handler, { ...route, body: { ...request, client: { ...request.client, password: 'my-client-password', md5: true } } });
    expect(res.status).toBe(201);
    expect(field(res.body, 'password')).toBe('my-client-password');
    expect(field(res.body, 'tenant', 'auth', 'md5')).toBe(true);
  });

  it('answers a repeated identical request with 200 and no password, and creates nothing twice', async () => {
    const handler = makeHandler(t.deps);
    const first = await invoke(handler, { ...route, body: request });
    expect(first.status).toBe(201);
    const again = await invoke(handler, { ...route, body: request });
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).not.toHaveProperty('password');
    expect(field(again.body, 'tenant', 'version')).toBe(1);
    const page = await t.deps.adapters.tenants.list();
    expect(page.items).toHaveLength(1);
  });

  it('refuses a different request for an existing tenantId with 409 ALREADY_EXISTS', async () => {
    const handler = makeHandler(t.deps);
    expect((await invoke(handler, { ...route, body: request })).status).toBe(201);
    const res = await invoke(handler, { ...route, body: { ...request, destination: { ...request.destination, database: 'other' } } });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('ALREADY_EXISTS');
  });

  it('refuses a duplicate client (database, user) with 409 LOGIN_TAKEN', async () => {
    const handler = makeHandler(t.deps);
    expect((await invoke(handler, { ...route, body: request })).status).toBe(201);
    const res = await invoke(handler, { ...route, body: { ...request, tenantId: 'acme-copy' } });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('LOGIN_TAKEN');
    expect(await t.deps.adapters.tenants.get('acme-copy')).toBeUndefined();
  });

  it('replays with the same Idempotency-Key and refuses the key for another tenant with 422', async () => {
    const handler = makeHandler(t.deps);
    const headers = { 'Idempotency-Key': 'k-123' };
    expect((await invoke(handler, { ...route, headers, body: request })).status).toBe(201);
    expect((await invoke(handler, { ...route, headers, body: request })).status).toBe(200);
    const other = await invoke(handler, { ...route, headers, body: { ...request, tenantId: 'other-one', client: { database: 'o', user: 'o' } } });
    expect(other.status).toBe(422);
    expect(field(other.body, 'error', 'code')).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('refuses a destination on an unknown cluster with 400 UNKNOWN_CLUSTER', async () => {
    const handler = makeHandler(t.deps);
    const res = await invoke(handler, { ...route, body: { ...request, destination: { clusterId: 'nope', password: 'destination-secret-1' } } });
    expect(res.status).toBe(400);
    expect(field(res.body, 'error', 'code')).toBe('UNKNOWN_CLUSTER');
  });
});
