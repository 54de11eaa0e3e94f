// Route keys match like API Gateway's: one segment per {param}, literals before parameters,
// a known path with another method is told apart from an unknown path.
import { describe, expect, it } from 'vitest';
import { Router } from './router.ts';

const r = new Router([
  { routeKey: 'GET /tenants', handler: 'list' },
  { routeKey: 'GET /tenants/{id}', handler: 'get' },
  { routeKey: 'DELETE /tenants/{id}', handler: 'delete' },
  { routeKey: 'GET /tenants/special', handler: 'special' },
  { routeKey: 'POST /clusters/{id}/failover', handler: 'failover' },
]);

describe('Router', () => {
  it('matches parameters and decodes them', () => {
    expect(r.lookup('GET', '/tenants/acme%2Done')).toEqual({ kind: 'found', route: { routeKey: 'GET /tenants/{id}', handler: 'get' }, match: { routeKey: 'GET /tenants/{id}', pathParameters: { id: 'acme-one' } } });
    const f = r.lookup('post', '/clusters/local/failover/');
    expect(f.kind === 'found' && f.match).toEqual({ routeKey: 'POST /clusters/{id}/failover', pathParameters: { id: 'local' } });
  });

  it('prefers a literal segment over a parameter', () => {
    const f = r.lookup('GET', '/tenants/special');
    expect(f.kind === 'found' && f.route.handler).toBe('special');
  });

  it('tells a wrong method (with the allowed ones) from an unknown path', () => {
    expect(r.lookup('PUT', '/tenants/acme')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'GET'] });
    expect(r.lookup('GET', '/tenants/acme/extra')).toEqual({ kind: 'not-found' });
    expect(r.lookup('GET', '/')).toEqual({ kind: 'not-found' });
  });

  it('refuses a malformed route key', () => {
    expect(() => new Router([{ routeKey: 'GET tenants', handler: 0 }])).toThrow(/bad route key/);
  });
});
