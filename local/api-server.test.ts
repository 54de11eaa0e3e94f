// The single place where the local API lets a request through without the token: a GET/HEAD of
// a static file (the web console) given by the `staticFiles` option. It still needs the Host
// check (DNS rebinding), and it never shadows an API route.
import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiLambdaHandler, type ApiServer } from './api-server.ts';

const TOKEN = 'a'.repeat(43);
let api: ApiServer;

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port: api.port, path, method, headers: { host: `127.0.0.1:${api.port}`, ...headers } }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body }));
    });
    req.on('error', rej);
    req.end();
  });
}

beforeAll(async () => {
  const hello: ApiLambdaHandler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api: true, authorization: event.headers.authorization ?? null }) });
  api = await startApiServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    log: pino({ level: 'silent' }),
    routes: [{ routeKey: 'GET /hello', handler: hello }],
    staticFiles: (path) => (path === '/' || path === '/hello' ? { body: Buffer.from('<!doctype html><title>console</title>'), contentType: 'text/html; charset=utf-8' } : undefined),
  });
});

afterAll(async () => {
  await api?.close();
});

describe('local API: the static files hook', () => {
  it('serves a static file without the token, with nosniff', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>console</title>');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const head = await get('/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('still checks the Host of a static file (DNS rebinding)', async () => {
    const r = await get('/', { host: `attacker.example:${api.port}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.code).toBe('FORBIDDEN_HOST');
  });

  it('never lets a static file shadow an API route, nor serve anything but GET/HEAD', async () => {
    const route = await get('/hello');
    expect(route.status).toBe(401);
    expect(JSON.parse(route.body).error.code).toBe('UNAUTHENTICATED');
    // The route runs; the token itself is not handed to the handler.
    expect(JSON.parse((await get('/hello', { authorization: `Bearer ${TOKEN}` })).body)).toEqual({ api: true, authorization: null });
    const post = await get('/', {}, 'POST');
    expect(post.status).toBe(401);
    const missing = await get('/no-such-file');
    expect(missing.status).toBe(401);
    expect((await get('/no-such-file', { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
  });
});
