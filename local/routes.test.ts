// The local control API serves every route of the deployed HTTP API (stacks/capabilities.ts
// API_ROUTES), each with the handler module the stack deploys for it — so nothing works on AWS
// that the local stack lacks, or the reverse.
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../stacks/capabilities.ts';
import { API_ROUTE_FACTORIES } from './routes.ts';

describe('local API routes', () => {
  it('are exactly the deployed routes', () => {
    expect(API_ROUTE_FACTORIES.map(([k]) => k).sort()).toEqual(API_ROUTES.map((r) => r.route).sort());
  });

  it('use the handler module each route is deployed with', async () => {
    for (const r of API_ROUTES) {
      const file = r.handler.replace(/\.handler$/, '.ts');
      const mod = (await import(/* @vite-ignore */ `../${file}`)) as { makeHandler: unknown };
      const local = API_ROUTE_FACTORIES.find(([k]) => k === r.route)?.[1];
      expect(local, r.route).toBe(mod.makeHandler);
    }
  });
});
