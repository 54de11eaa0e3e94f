// Bad input to the local control API over HTTP gets the deployed API's answers — the same
// handlers behind API Gateway v2 events — with a clear `{ error: { code, message } }` body:
// malformed JSON (400 MALFORMED_JSON), a non-JSON body (415), an unknown tenant (404), a
// duplicate (409), an invalid field (400 naming it). What API Gateway itself would refuse is
// refused by the local server in the same error shape: an unknown route (404), a method the path
// does not take (405 with Allow), an oversized body (413).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depsWith } from '../functions/lib/deps.ts';
import { createPgConnect } from '../functions/lib/pg-target.ts';
import { MAX_BODY_BYTES, NotLoopbackError, startApiServer, type ApiServer } from '../local/api-server.ts';
import { ensureApiToken } from '../local/api-token.ts';
import { apiRoutes } from '../local/routes.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';

let dir: string;
let adapters: Adapters;
let api: ApiServer;
let token: string;

const tenant = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  tenantId: id,
  client: { database: `db_${id.replaceAll('-', '_')}`, user: `u_${id.replaceAll('-', '_')}` },
  destination: { host: '127.0.0.1', port: 5432, password: 'destination-password-1' },
  ...extra,
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number; headers: Headers; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...headers }, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as never) : ({} as never) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-local-api-'));
  adapters = await createLocalAdapters(dir);
  const log = pino({ level: 'silent' });
  token = ensureApiToken(dir);
  api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(depsWith(adapters, { log, pg: createPgConnect({ ssl: 'disable' }) })), log });
});

afterAll(async () => {
  await api?.close();
  await adapters?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('local control API: bad input', () => {
  it('malformed JSON is 400 MALFORMED_JSON; a non-JSON body is 415', async () => {
    const bad = await call('POST', '/tenants', '{"tenantId": "x",');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toEqual({ code: 'MALFORMED_JSON', message: 'request body is not valid JSON' });
    const form = await call('POST', '/tenants', 'tenantId=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.json.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('an unknown tenant is 404 NOT_FOUND, for every route that names one', async () => {
    for (const [method, path] of [
      ['GET', '/tenants/no-such-tenant'],
      ['DELETE', '/tenants/no-such-tenant'],
      ['POST', '/tenants/no-such-tenant/rotate-password'],
    ] as const) {
      const r = await call(method, path, method === 'POST' ? '{}' : undefined);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json.error, `${method} ${path}`).toEqual({ code: 'NOT_FOUND', message: 'tenant no-such-tenant not found' });
    }
  });

  it('a duplicate is 409 ALREADY_EXISTS; an invalid field is 400 naming it', async () => {
    expect((await call('POST', '/tenants', JSON.stringify(tenant('dup-api')))).status).toBe(201);
    const dup = await call('POST', '/tenants', JSON.stringify(tenant('dup-api', { pool: { mode: 'session' } })));
    expect(dup.status).toBe(409);
    expect(dup.json.error).toEqual({ code: 'ALREADY_EXISTS', message: 'tenant dup-api already exists' });
    const invalid = await call('POST', '/tenants', JSON.stringify(tenant('ok-tenant', { pool: { size: -1 } })));
    expect(invalid.status).toBe(400);
    expect(invalid.json.error?.code).toBe('INVALID_REQUEST');
    expect(invalid.json.error?.message).toContain('pool.size');
  });

  it('what API Gateway would refuse: unknown route 404, wrong method 405 with Allow, oversized body 413', async () => {
    const route = await call('GET', '/no/such/route');
    expect(route.status).toBe(404);
    expect(route.json.error).toEqual({ code: 'NOT_FOUND', message: 'no route for GET /no/such/route' });
    const method = await call('PUT', '/tenants/some-tenant', '{}');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('DELETE, GET, PATCH');
    expect(method.json.error?.code).toBe('METHOD_NOT_ALLOWED');
    const big = await call('POST', '/tenants', JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(big.status).toBe(413);
    expect(big.json.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses to listen beyond loopback: the token keeps web pages out, not other machines', async () => {
    await expect(startApiServer({ host: '0.0.0.0', port: 0, token, routes: [], log: pino({ level: 'silent' }) })).rejects.toBeInstanceOf(NotLoopbackError);
  });
});
