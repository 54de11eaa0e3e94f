// GET /openapi.json: an OpenAPI 3.1 document generated from the request/response zod schemas,
// covering every route the stack wires (one handler file per route).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../functions/api/openapi.ts';
import { createLogger } from '../functions/lib/logger.ts';
import { field, invoke } from '../functions/testing/test-deps.ts';

const routes: Record<string, string> = {
  'POST /tenants': 'tenants-create',
  'GET /tenants': 'tenants-list',
  'GET /tenants/{id}': 'tenants-get',
  'PATCH /tenants/{id}': 'tenants-update',
  'DELETE /tenants/{id}': 'tenants-delete',
  'POST /tenants/{id}/rotate-password': 'tenants-rotate-password',
  'GET /tenants/{id}/metrics': 'tenants-metrics',
  'GET /tenants/{id}/statements': 'tenants-statements',
  'POST /clusters': 'clusters-create',
  'GET /clusters': 'clusters-list',
  'DELETE /clusters/{id}': 'clusters-delete',
  'GET /poolers': 'poolers-list',
  'GET /openapi.json': 'openapi',
};

describe('GET /openapi.json', () => {
  it('describes every route, with request schemas that forbid unknown fields', async () => {
    const res = await invoke(makeHandler({ log: createLogger({ level: 'silent' }) }), { method: 'GET', path: '/openapi.json' });
    expect(res.status).toBe(200);
    expect(field(res.body, 'openapi')).toBe('3.1.0');
    const paths = field<Record<string, Record<string, unknown>>>(res.body, 'paths');
    for (const [route, file] of Object.entries(routes)) {
      const [method = '', path = ''] = route.split(' ');
      expect(paths[path]?.[method.toLowerCase()], route).toBeDefined();
      expect(existsSync(join(import.meta.dirname, '..', 'functions', 'api', `${file}.ts`)), file).toBe(true);
    }
    const create = field<Record<string, unknown>>(res.body, 'components', 'schemas', 'CreateTenantRequest');
    expect(create.additionalProperties).toBe(false);
    expect(field(create, 'properties', 'tenantId', 'pattern')).toBe('^[a-z0-9][a-z0-9-]{2,62}$');
    // Every $ref resolves.
    const schemas = field<Record<string, unknown>>(res.body, 'components', 'schemas');
    for (const m of (res.rawBody ?? '').matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(schemas[m[1] ?? ''], m[1]).toBeDefined();
    // Responses never describe secret fields.
    const tenant = JSON.stringify(schemas.Tenant);
    expect(tenant).not.toMatch(/passwordCiphertext|clientAuth|scram/);
  });
});
