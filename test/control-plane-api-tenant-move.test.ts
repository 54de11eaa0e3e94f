// PATCH /tenants/{id} with `destination`: moving a tenant (another cluster, a fixed host, another
// database/role/schema) and changing its destination password, on the local adapters. The
// ciphertext is bound to { tenantId, clusterId }: after a move it opens under the NEW context only
// (re-encrypted when no new password is given between clusters; a new fixed address needs the
// password given); an unknown cluster is 400 UNKNOWN_CLUSTER as on create; bad combinations are
// 400 INVALID_REQUEST; the optimistic lock and the announce are as
// for any PATCH. The pooler side (drain and switch under load) is in pooler-tenant-move-*.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeUpdate } from '../functions/api/tenants-update.ts';
import { openApiDocument } from '../functions/lib/openapi.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';
import { SecretError } from '../shared/src/domain/errors.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';

const TENANT = 'medplum';
const OLD_PASSWORD = 'old-destination-password';

describe('PATCH /tenants/{id} destination (moving a tenant)', () => {
  let t: LocalTestDeps;
  beforeEach(async () => {
    t = await localTestDeps();
    for (const clusterId of ['blue', 'green']) {
      await t.deps.adapters.clusters.create({ clusterId, kind: 'static', writer: { host: `${clusterId}.db.internal`, port: 5432 } });
    }
    const res = await invoke(makeCreate(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: TENANT, client: { database: 'medplum', user: 'medplum' }, destination: { host: 'old.db.internal', port: 6432, database: 'medplum', user: 'medplum', schema: 'app', password: OLD_PASSWORD } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const patch = (body: unknown, headers: Record<string, string> = {}) =>
    invoke(makeUpdate(t.deps), { method: 'PATCH', path: `/tenants/${TENANT}`, pathParameters: { id: TENANT }, headers, body });
  const stored = async () => (await t.deps.adapters.tenants.get(TENANT))!;
  const passwordUnder = async (clusterId: string | undefined) =>
    t.deps.adapters.secrets.decrypt((await stored()).destination.passwordCiphertext, tenantSecretContext(TENANT, clusterId === undefined ? {} : { clusterId }));

  it('moves a fixed-host tenant onto a cluster, re-encrypting the stored password under the new context, and announces it', async () => {
    const before = await t.deps.adapters.config.getConfigVersion();
    const res = await patch({ destination: { clusterId: 'blue' } }, { 'If-Match': '"1"' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    // The location moved as a whole (no host/port left behind); database, role and schema kept.
    expect(field(res.body, 'destination')).toEqual({ clusterId: 'blue', database: 'medplum', user: 'medplum', schema: 'app' });
    expect(JSON.stringify(res.body)).not.toContain(OLD_PASSWORD);
    expect(await passwordUnder('blue')).toBe(OLD_PASSWORD);
    // Under the old (static) context the new ciphertext does not open: it really is bound anew.
    await expect(passwordUnder(undefined)).rejects.toBeInstanceOf(SecretError);
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(before + 1);
  });

  it('moves between clusters with a new database, role and password; the password is encrypted under the new cluster', async () => {
    expect((await patch({ version: 1, destination: { clusterId: 'blue' } })).status).toBe(200);
    const res = await patch({ version: 2, destination: { clusterId: 'green', database: 'medplum_green', user: 'medplum_green', schema: null, password: 'green-destination-password' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(field(res.body, 'destination')).toEqual({ clusterId: 'green', database: 'medplum_green', user: 'medplum_green' });
    expect(await passwordUnder('green')).toBe('green-destination-password');
    await expect(passwordUnder('blue')).rejects.toBeInstanceOf(SecretError);
    // The client login and pool are untouched.
    const s = await stored();
    expect(s.client).toEqual({ database: 'medplum', user: 'medplum' });
    expect(s.pool.size).toBe(20);
  });

  it('changes only the destination password (same place): encrypted under the same context, nothing else moves', async () => {
    const res = await patch({ version: 1, destination: { password: 'rotated-destination-password' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(field(res.body, 'destination')).toEqual({ host: 'old.db.internal', port: 6432, database: 'medplum', user: 'medplum', schema: 'app' });
    expect(await passwordUnder(undefined)).toBe('rotated-destination-password');
  });

  it('moves a cluster tenant back to a fixed host only with the password given, and keeps a ciphertext as is when the place stays', async () => {
    expect((await patch({ version: 1, destination: { clusterId: 'blue' } })).status).toBe(200);
    // The stored password is never sent to an address the caller just typed.
    const refused = await patch({ version: 2, destination: { host: 'new.db.internal' } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(field(refused.body, 'error', 'code')).toBe('DESTINATION_PASSWORD_REQUIRED');
    const back = await patch({ version: 2, destination: { host: 'new.db.internal', password: 'host-destination-password' } });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(field(back.body, 'destination')).toEqual({ host: 'new.db.internal', database: 'medplum', user: 'medplum', schema: 'app' });
    expect(await passwordUnder(undefined)).toBe('host-destination-password');
    const ciphertext = (await stored()).destination.passwordCiphertext;
    expect((await patch({ version: 3, destination: { database: 'medplum2', user: 'medplum2' } })).status).toBe(200);
    expect((await stored()).destination.passwordCiphertext).toBe(ciphertext);
  });

  it.each([
    ['another host', { host: 'elsewhere.internal' }],
    ['the same host on another port', { host: 'old.db.internal', port: 5432 }],
  ])('refuses to carry the stored password to %s (400 DESTINATION_PASSWORD_REQUIRED), and changes nothing', async (_what, destination) => {
    const res = await patch({ version: 1, destination });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(field(res.body, 'error', 'code')).toBe('DESTINATION_PASSWORD_REQUIRED');
    expect(field<{ path: string }[]>(res.body, 'error', 'details').map((d) => d.path)).toEqual(['destination.password']);
    expect((await stored()).version).toBe(1);
  });

  it('refuses an unknown cluster with 400 UNKNOWN_CLUSTER (as POST /tenants) and changes nothing', async () => {
    const res = await patch({ version: 1, destination: { clusterId: 'nowhere' } });
    expect(res.status).toBe(400);
    expect(field(res.body, 'error', 'code')).toBe('UNKNOWN_CLUSTER');
    const s = await stored();
    expect(s.version).toBe(1);
    expect(s.destination.host).toBe('old.db.internal');
  });

  it.each([
    ['clusterId and host together', { clusterId: 'blue', host: 'x.internal' }, 'destination.clusterId'],
    ['port without host', { port: 5433 }, 'destination.port'],
    ['an empty destination', {}, 'destination'],
    ['a short password', { password: 'short' }, 'destination.password'],
    ['an over-long role name (63 bytes)', { user: 'u'.repeat(64) }, 'destination.user'],
    ['an unknown field', { passwordCiphertext: 'x' }, 'destination'],
  ])('refuses %s with 400 INVALID_REQUEST naming the field, and changes nothing', async (_what, destination, path) => {
    const res = await patch({ version: 1, destination });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(field(res.body, 'error', 'code')).toBe('INVALID_REQUEST');
    expect(field<{ path: string }[]>(res.body, 'error', 'details').map((d) => d.path)).toContain(path);
    expect((await stored()).version).toBe(1);
  });

  it('keeps the optimistic lock: a stale version is 409, none is 428, and a refused move stores nothing', async () => {
    expect((await patch({ version: 1, status: 'suspended' })).status).toBe(200);
    const stale = await patch({ version: 1, destination: { clusterId: 'blue' } });
    expect(stale.status).toBe(409);
    expect(field(stale.body, 'error', 'code')).toBe('VERSION_CONFLICT');
    const none = await patch({ destination: { clusterId: 'blue' } });
    expect(none.status).toBe(428);
    expect((await stored()).destination.host).toBe('old.db.internal');
  });

  it('asks for the password (400 DESTINATION_PASSWORD_REQUIRED) when the stored one cannot be opened to re-encrypt it, and moves with it given', async () => {
    // A ciphertext that does not open under this tenant's context (e.g. copied from another tenant).
    const foreign = await t.deps.adapters.secrets.encrypt('someone-elses', tenantSecretContext('other-tenant', {}));
    const s = await stored();
    await t.deps.adapters.tenants.update(TENANT, s.version, { destination: { ...s.destination, passwordCiphertext: foreign } });
    const refused = await patch({ version: 2, destination: { clusterId: 'blue' } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(field(refused.body, 'error', 'code')).toBe('DESTINATION_PASSWORD_REQUIRED');
    expect((await stored()).version).toBe(2);
    const given = await patch({ version: 2, destination: { clusterId: 'blue', password: 'blue-destination-password' } });
    expect(given.status, JSON.stringify(given.body)).toBe(200);
    expect(await passwordUnder('blue')).toBe('blue-destination-password');
  });

  it('is in the OpenAPI document: the destination fields and the new error codes of updateTenant', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>; components: { schemas: Record<string, { properties: Record<string, { properties?: Record<string, unknown> }> }> } };
    const props = doc.components.schemas.UpdateTenantRequest!.properties.destination?.properties ?? {};
    expect(Object.keys(props).sort()).toEqual(['clusterId', 'database', 'host', 'password', 'port', 'schema', 'user']);
    const responses = doc.paths['/tenants/{id}']!.patch!.responses;
    expect(responses['400']!.description).toContain('UNKNOWN_CLUSTER');
    expect(responses['400']!.description).toContain('DESTINATION_PASSWORD_REQUIRED');
  });
});
