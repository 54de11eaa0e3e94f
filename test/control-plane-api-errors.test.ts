// Error responses: malformed JSON, unknown fields, wrong media type, unknown tenant, and an
// unexpected failure — always `{ error: { code, message } }`, never an internal detail or a secret
// (in the response or in the logs).
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeGet } from '../functions/api/tenants-get.ts';
import { makeHandler as makeList } from '../functions/api/tenants-list.ts';
import { makeHandler as makeUpdate } from '../functions/api/tenants-update.ts';
import { createLogger } from '../functions/lib/logger.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

const validBody = {
  tenantId: 'acme-prod',
  client: { database: 'acme', user: 'app', password: 'client-password-123' },
  destination: { host: 'db.internal', database: 'acme', user: 'acme', password: 'destination-password-456' },
};

describe('API errors', () => {
  let t: LocalTestDeps;
  let logLines: string[];
  beforeEach(async () => {
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    // The production logger (its redaction is what is under test), writing to the sink.
    t = await localTestDeps({ log: createLogger({ level: 'debug', destination: sink }) });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('malformed JSON is 400 MALFORMED_JSON', async () => {
    const res = await invoke(makeCreate(t.deps), { method: 'POST', path: '/tenants', body: '{"tenantId": "x",', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' } });
  });

  it('a form-encoded body is 415', async () => {
    const res = await invoke(makeCreate(t.deps), { method: 'POST', path: '/tenants', body: 'tenantId=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    expect(field(res.body, 'error', 'code')).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('an unknown field — top level or nested — is 400 INVALID_REQUEST naming the field, not echoing values', async () => {
    const res = await invoke(makeCreate(t.deps), { method: 'POST', path: '/tenants', body: { ...validBody, colour: 'blue', pool: { sise: 5 } } });
    expect(res.status).toBe(400);
    expect(field(res.body, 'error', 'code')).toBe('INVALID_REQUEST');
    const details = field<{ path: string; message: string }[]>(res.body, 'error', 'details');
    expect(details.map((d) => d.path).sort()).toEqual(['(root)', 'pool']);
    expect(JSON.stringify(res.body)).toContain('colour');
    expect(JSON.stringify(res.body)).not.toContain('client-password-123');
    expect(JSON.stringify(res.body)).not.toContain('destination-password-456');
  });

  it('a missing body, a bad slug and a bad query are 400', async () => {
    expect((await invoke(makeCreate(t.deps), { method: 'POST', path: '/tenants' })).status).toBe(400);
    expect((await invoke(makeGet(t.deps), { method: 'GET', path: '/tenants/NO_SUCH', pathParameters: { id: 'NO_SUCH' } })).status).toBe(400);
    const list = await invoke(makeList(t.deps), { method: 'GET', path: '/tenants', query: { limit: '0' } });
    expect(list.status).toBe(400);
    expect((await invoke(makeList(t.deps), { method: 'GET', path: '/tenants', query: { page: '2' } })).status).toBe(400);
  });

  it('an unknown tenant is 404 NOT_FOUND', async () => {
    const res = await invoke(makeGet(t.deps), { method: 'GET', path: '/tenants/ghost-tenant', pathParameters: { id: 'ghost-tenant' } });
    expect(res.status).toBe(404);
    expect(field(res.body, 'error', 'code')).toBe('NOT_FOUND');
    const patch = await invoke(makeUpdate(t.deps), { method: 'PATCH', path: '/tenants/ghost-tenant', pathParameters: { id: 'ghost-tenant' }, headers: { 'if-match': '"1"' }, body: { status: 'suspended' } });
    expect(patch.status).toBe(404);
  });

  it('an unexpected failure is a generic 500, and neither the response nor the logs carry secrets', async () => {
    const failing = {
      ...t.deps,
      adapters: {
        ...t.deps.adapters,
        tenants: {
          ...t.deps.adapters.tenants,
          get: async () => {
            throw new Error('connection to 10.1.2.3 failed: password=hunter2-internal');
          },
        },
      },
    };
    const res = await invoke(makeCreate(failing), { method: 'POST', path: '/tenants', body: validBody, requestId: 'req-500' });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    const logs = logLines.join('');
    expect(logs).toContain('req-500');
    expect(logs).toContain('"tenantId":"acme-prod"');
    expect(logs).not.toContain('client-password-123');
    expect(logs).not.toContain('destination-password-456');
    // The error's own text quoted a password: logged redacted (test/adversarial/secrets-not-in-logs.test.ts has more).
    expect(logs).not.toContain('hunter2-internal');
    expect(logs).toContain('connection to 10.1.2.3 failed: password=[redacted]');
  });

  it('a successful create logs the request id and tenant id but no password, verifier or ciphertext', async () => {
    const res = await invoke(makeCreate(t.deps), { method: 'POST', path: '/tenants', body: validBody, requestId: 'req-201' });
    expect(res.status).toBe(201);
    const logs = logLines.join('');
    expect(logs).toMatch(/"requestId":"req-201".*"tenantId":"acme-prod"/);
    expect(logs).not.toContain('client-password-123');
    expect(logs).not.toContain('destination-password-456');
    expect(logs).not.toContain('SCRAM-SHA-256$');
    const stored = await t.deps.adapters.tenants.get('acme-prod');
    expect(logs).not.toContain(stored?.destination.passwordCiphertext ?? '<none>');
  });
});
