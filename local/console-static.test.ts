// The console's static files as the local API serves them: only allow-listed paths, API routes
// untouched, security headers on the HTML, gzip when asked, a clear 503 when the build is missing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../functions/lib/logger.ts';
import { startApiServer, type ApiServer } from './api-server.ts';
import { consoleStatic } from './console-static.ts';

let dir: string;
let server: ApiServer;
let bare: ApiServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-console-'));
  mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'dist', 'assets', 'main-abc.js'), 'console.log(1);'.repeat(200));
  writeFileSync(join(dir, 'secret.txt'), 'nope');
  const routes = [{ routeKey: 'GET /tenants', handler: async () => ({ statusCode: 200, body: '{"items":[]}', headers: { 'content-type': 'application/json' } }) }];
  const log = createLogger({ level: 'silent' });
  server = await startApiServer({ host: '127.0.0.1', port: 0, routes, log, console: consoleStatic(join(dir, 'dist')) });
  bare = await startApiServer({ host: '127.0.0.1', port: 0, routes, log, console: consoleStatic(join(dir, 'missing')) });
});
afterAll(async () => {
  await server?.close();
  await bare?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console static files', () => {
  it('serves / with a strict CSP and no caching of the HTML, and leaves API routes alone', async () => {
    const r = await fetch(`${server.url}/`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('<title>console</title>');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const api = await fetch(`${server.url}/tenants`);
    expect(await api.json()).toEqual({ items: [] });
  });

  it('serves hashed assets for a year, gzip-compressed when accepted', async () => {
    const r = await fetch(`${server.url}/assets/main-abc.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(r.headers.get('content-type')).toMatch(/^text\/javascript/);
    // fetch() decodes gzip itself; the header says it was sent compressed.
    expect(r.headers.get('content-encoding')).toBe('gzip');
    expect(await r.text()).toBe('console.log(1);'.repeat(200));
  });

  it('serves nothing outside the allow-list: other files, traversal, other methods go to the API router', async () => {
    for (const p of ['/secret.txt', '/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/sub/x.js', '/assets/missing.js']) {
      const r = await fetch(`${server.url}${p}`);
      expect(r.status, p).toBe(404);
      expect(await r.text(), p).not.toContain('nope');
    }
    const post = await fetch(`${server.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(404);
    expect((await post.json()) as unknown).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('answers 503 with what to do when the console was not built', async () => {
    const r = await fetch(`${bare.url}/`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/not built.*npm start/);
  });
});
