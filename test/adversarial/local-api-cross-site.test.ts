// A web page the user happens to open must not be able to drive the local control API, although
// the browser will happily send requests to 127.0.0.1 for it:
// - a cross-site "simple" request (no CORS preflight: POST with text/plain, or a Blob body that
//   carries no Content-Type at all, or no body) — refused 403 FORBIDDEN_ORIGIN by its Origin;
// - DNS rebinding (the attacker's name resolves to 127.0.0.1, so the page is "same origin" with
//   the API and the browser sends `Host: attacker.example:PORT`) — refused 403 FORBIDDEN_HOST;
// - anything without the state directory's token — 401 UNAUTHENTICATED;
// - a body that is not declared application/json — 415 UNSUPPORTED_MEDIA_TYPE, even with the token.
// Each refusal leaves the state as it was (no tenant created, no password rotated). The CLI,
// which reads the token from the state directory, still works.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depsWith } from '../../functions/lib/deps.ts';
import { createPgConnect } from '../../functions/lib/pg-target.ts';
import { startApiServer, type ApiServer } from '../../local/api-server.ts';
import { ensureApiToken } from '../../local/api-token.ts';
import { apiRoutes } from '../../local/routes.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { run } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'switchyard.js');

let dir: string;
let stateDir: string;
let adapters: Adapters;
let api: ApiServer;
let token: string;
let own: string; // the server's own origin, as a page it served would send it

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  error?: { code: string; message: string };
  body: Record<string, unknown>;
}

/** One HTTP request with exactly these headers (fetch would add or refuse some, e.g. Host). */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port: api.port, method, path, headers: { host: `127.0.0.1:${api.port}`, ...headers } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = (text ? JSON.parse(text) : {}) as Record<string, unknown> & { error?: { code: string; message: string } };
        res({ status: r.statusCode ?? 0, headers: r.headers, body: json, ...(json.error ? { error: json.error } : {}) });
      });
    });
    req.on('error', rej);
    req.end(body);
  });
}

const tenant = (id: string): string =>
  JSON.stringify({ tenantId: id, client: { database: `db_${id.replaceAll('-', '_')}`, user: `u_${id.replaceAll('-', '_')}` }, destination: { host: '127.0.0.1', port: 5432, password: 'destination-password-1' } });

const bearer = (t = token): Record<string, string> => ({ authorization: `Bearer ${t}` });
const json = { 'content-type': 'application/json' };

async function tenantIds(): Promise<string[]> {
  return (await adapters.tenants.list({ limit: 100 })).items.map((t) => t.tenantId).sort();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cross-site-'));
  stateDir = join(dir, 'state');
  adapters = await createLocalAdapters(stateDir);
  token = ensureApiToken(stateDir);
  const log = pino({ level: 'silent' });
  api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(depsWith(adapters, { log, pg: createPgConnect({ ssl: 'disable' }) })), log });
  own = `http://127.0.0.1:${api.port}`;
  // What a running stack records: the CLI sends the state directory's token to that address only.
  writeFileSync(join(stateDir, 'stack.json'), JSON.stringify({ api: api.url }), { mode: 0o600 });
  // A tenant whose password a hostile page would like to rotate.
  const seeded = await send('POST', '/tenants', { ...json, ...bearer(), origin: own }, tenant('victim'));
  expect(seeded.status, JSON.stringify(seeded.body)).toBe(201);
});

afterAll(async () => {
  await api?.close();
  await adapters?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('local control API: a web page cannot drive it', () => {
  it('a cross-site simple POST is 403 FORBIDDEN_ORIGIN and changes nothing', async () => {
    const before = await adapters.tenants.get('victim');
    const evil = { origin: 'https://attacker.example' };
    // <form enctype="text/plain">, fetch(..., {mode: 'no-cors', body: 'string'})
    const plain = await send('POST', '/tenants', { ...evil, 'content-type': 'text/plain;charset=UTF-8' }, tenant('by-text-plain'));
    // fetch(..., {mode: 'no-cors', body: new Blob([json])}): a body without any Content-Type
    const blob = await send('POST', '/tenants', evil, tenant('by-blob'));
    // a bodiless POST: rotate a password, fail the cluster over
    const rotate = await send('POST', '/tenants/victim/rotate-password', evil);
    // even a page that somehow has the token is refused by its origin
    const withToken = await send('POST', '/tenants', { ...evil, ...json, ...bearer() }, tenant('by-token-leak'));
    const nullOrigin = await send('POST', '/tenants', { origin: 'null' }, tenant('by-sandboxed-frame'));
    for (const [what, r] of Object.entries({ plain, blob, rotate, withToken, nullOrigin })) {
      expect(r.status, what).toBe(403);
      expect(r.error?.code, what).toBe('FORBIDDEN_ORIGIN');
    }
    expect(await tenantIds()).toEqual(['victim']);
    expect(await adapters.tenants.get('victim')).toEqual(before);
  });

  it('a DNS-rebinding Host header is 403 FORBIDDEN_HOST, with or without the token', async () => {
    const rebound = { host: `attacker.example:${api.port}` };
    for (const [what, r] of Object.entries({
      list: await send('GET', '/tenants', rebound),
      listWithToken: await send('GET', '/tenants', { ...rebound, ...bearer() }),
      create: await send('POST', '/tenants', { ...rebound, ...json, ...bearer(), origin: `http://attacker.example:${api.port}` }, tenant('by-rebinding')),
      otherPort: await send('GET', '/tenants', { host: `127.0.0.1:${api.port + 1}`, ...bearer() }),
      noPort: await send('GET', '/tenants', { host: 'localhost', ...bearer() }),
    })) {
      expect(r.status, what).toBe(403);
      expect(r.error?.code, what).toBe('FORBIDDEN_HOST');
    }
    expect(await tenantIds()).toEqual(['victim']);
    // The loopback names with the server's own port are fine.
    for (const host of [`127.0.0.1:${api.port}`, `localhost:${api.port}`, `LOCALHOST:${api.port}`]) {
      expect((await send('GET', '/tenants', { host, ...bearer() })).status, host).toBe(200);
    }
  });

  it('without the token, or with a wrong one, every API route is 401 UNAUTHENTICATED', async () => {
    const before = await adapters.tenants.get('victim');
    const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const attempts = {
      none: await send('POST', '/tenants', json, tenant('no-token')),
      wrong: await send('POST', '/tenants', { ...json, ...bearer(wrong) }, tenant('wrong-token')),
      short: await send('POST', '/tenants', { ...json, ...bearer('x') }, tenant('short-token')),
      basic: await send('POST', '/tenants', { ...json, authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` }, tenant('basic')),
      sameOriginNoToken: await send('POST', '/tenants/victim/rotate-password', { origin: own }),
      list: await send('GET', '/tenants', {}),
      failover: await send('POST', '/clusters/local/failover', {}),
      unknownRoute: await send('GET', '/no/such/route', {}),
    };
    for (const [what, r] of Object.entries(attempts)) {
      expect(r.status, what).toBe(401);
      expect(r.error?.code, what).toBe('UNAUTHENTICATED');
      expect(r.headers['www-authenticate'], what).toMatch(/^Bearer/);
    }
    expect(await tenantIds()).toEqual(['victim']);
    expect(await adapters.tenants.get('victim')).toEqual(before);
  });

  it('a body that is not declared application/json is 415 UNSUPPORTED_MEDIA_TYPE, even with the token', async () => {
    const blob = await send('POST', '/tenants', bearer(), tenant('no-content-type'));
    const plain = await send('POST', '/tenants', { ...bearer(), 'content-type': 'text/plain' }, tenant('text-plain'));
    const form = await send('POST', '/tenants', { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' }, 'tenantId=form');
    for (const [what, r] of Object.entries({ blob, plain, form })) {
      expect(r.status, what).toBe(415);
      expect(r.error?.code, what).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await tenantIds()).toEqual(['victim']);
    // Declared JSON (and a +json type, RFC 6839) from the server's own origin is served.
    const ok = await send('POST', '/tenants', { ...bearer(), 'content-type': 'application/json; charset=utf-8', origin: own }, tenant('proper'));
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(await tenantIds()).toEqual(['proper', 'victim']);
  });

  it('the CLI reads the token from the state directory and works; a wrong token is exit 1 UNAUTHENTICATED', async () => {
    const destPw = join(dir, 'dest-password');
    writeFileSync(destPw, 'destination-password-1\n', { mode: 0o600 });
    const cli = (args: string[], env: Record<string, string> = {}) =>
      run(process.execPath, [BIN, ...args, '--api', api.url], { timeoutMs: 30_000, env: { SWITCHYARD_API: '', SWITCHYARD_API_TOKEN: '', SWITCHYARD_STATE_DIR: stateDir, ...env } });
    const created = await cli(['tenants', 'create', 'via-cli', '--host', '127.0.0.1', '--port', '5432', '--dest-password-file', destPw]);
    expect(created.code, created.stderr).toBe(0);
    expect(await tenantIds()).toContain('via-cli');

    const refused = await cli(['tenants', 'delete', 'via-cli'], { SWITCHYARD_API_TOKEN: 'not-the-token' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(UNAUTHENTICATED)');
    const elsewhere = await cli(['tenants', 'delete', 'via-cli'], { SWITCHYARD_STATE_DIR: join(dir, 'no-such-state') });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('(UNAUTHENTICATED)');
    expect(await tenantIds()).toContain('via-cli');
  });
});
