// The console's static files as the local API serves them: only allow-listed paths and without the
// token, API routes untouched (still behind the token), security headers on the HTML, a clear
// message when the build is missing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../functions/lib/logger.ts';
import { startApiServer, type ApiServer } from './api-server.ts';
import { consoleFiles } from './console-static.ts';

let dir: string;
let server: ApiServer;
let bare: ApiServer;
const TOKEN = 'a'.repeat(43);
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-console-'));
  mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'dist', 'assets', 'main-abc.js'), 'console.log(1);'.repeat(200));
  writeFileSync(join(dir, 'secret.txt'), 'nope');
  const routes = [{ routeKey: 'GET /tenants', handler: async () => ({ statusCode: 200, body: '{"items":[]}', headers: { 'content-type': 'application/json' } }) }];
  const log = createLogger({ level: 'silent' });
  server = await startApiServer({ host: '127.0.0.1', port: 0, routes, log, token: TOKEN, staticFiles: consoleFiles(join(dir, 'dist')) });
  bare = await startApiServer({ host: '127.0.0.1', port: 0, routes, log, token: TOKEN, staticFiles: consoleFiles(join(dir, 'missing')) });
});
afterAll(async () => {
  await server?.close();
  await bare?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console static files', () => {
  it('serves / without the token, with a strict CSP and no caching of the HTML; API routes still need the token', async () => {
    const r = await fetch(`${server.url}/`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('<title>console</title>');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetch(`${server.url}/tenants`)).status).toBe(401);
    const api = await fetch(`${server.url}/tenants`, { headers: auth });
    expect(await api.json()).toEqual({ items: [] });
  });

  it('serves hashed assets, cached for a year', async () => {
    const r = await fetch(`${server.url}/assets/main-abc.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(r.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await r.text()).toBe('console.log(1);'.repeat(200));
  });

  it('serves nothing outside the allow-list: other files, traversal, other methods go to the API router', async () => {
    for (const p of ['/secret.txt', '/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/sub/x.js', '/assets/missing.js']) {
      const r = await fetch(`${server.url}${p}`, { headers: auth });
      expect(r.status, p).toBe(404);
      expect(await r.text(), p).not.toContain('nope');
    }
    const post = await fetch(`${server.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
    expect(post.status).toBe(404);
    expect((await post.json()) as unknown).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('says what to do when the console was not built', async () => {
    const r = await fetch(`${bare.url}/`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await r.text()).toMatch(/not built.*npm start/);
  });
});
