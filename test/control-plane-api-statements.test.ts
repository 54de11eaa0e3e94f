// GET /tenants/{id}/statements end to end on the local pieces: a pooler on the local source runs a
// tenant's queries (simple ones with literals, extended ones with $1), writes its heartbeat to the
// local store (SourceController.heartbeat, the same call its timer makes), and the API handler on
// the same state directory returns the tenant's statement shapes — normalized, no literal — with
// the pooler counted and the window the figures cover.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeStatements } from '../functions/api/tenants-statements.ts';
import { depsWith, type Deps } from '../functions/lib/deps.ts';
import { createLogger } from '../functions/lib/logger.ts';
import { field, invoke } from '../functions/testing/test-deps.ts';
import { SourceController } from '../pooler/src/config/sources/controller.ts';
import { createLocalSource } from '../pooler/src/config/sources/local-source.ts';
import { configSchema, startPooler } from '../pooler/src/index.ts';
import { clusterTargetsOf } from '../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { startApiServer, type ApiServer } from '../local/api-server.ts';
import { ensureApiToken } from '../local/api-token.ts';
import { apiRoutes } from '../local/routes.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import { run, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { connectPg, endQuietly, type PgClient } from './helpers/clients.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, testLogger } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let stateDir: string;
let a: Adapters;
let deps: Deps;
let pooler: Pooler | undefined;
let controller: SourceController | undefined;
let client: PgClient | undefined;
let password: string;
let api: ApiServer | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-statements-'));
  a = await createLocalAdapters(stateDir);
  const cluster = await a.clusters.create({ clusterId: 'local', kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [] });
  await a.config.publishClusterTargets('local', clusterTargetsOf(cluster));
  const dest = await createDestination(pg, { name: 'stmts' });
  password = randomPassword('stmts');
  const ctx = { clusterId: 'local' };
  await a.tenants.create({
    tenantId: 'stmts-tenant',
    client: { database: 'app_stmts', user: 'usr_stmts' },
    clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
    destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await a.secrets.encrypt(dest.password, tenantSecretContext('stmts-tenant', ctx)) },
    pool: { size: 2 },
  });
  await a.config.bumpConfigVersion();
  const log = testLogger();
  const base = configSchema.parse({ listen: { host: '127.0.0.1', port: 0 }, log_level: 'silent' });
  const source = await createLocalSource(stateDir, { log, base: () => base });
  const initial = await source.load();
  pooler = await startPooler(initial.config, { logger: log });
  controller = new SourceController(pooler, source, initial, { log, pollMaxMs: 0, heartbeatMs: 0, poolerId: 'stmts-pooler' });
  controller.start();
  deps = depsWith(a, { log: createLogger({ level: 'silent' }) });
});

afterAll(async () => {
  await api?.close();
  if (client) await endQuietly(client);
  await controller?.stop();
  await pooler?.close();
  await a?.close();
  await pg?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('GET /tenants/{id}/statements', () => {
  it("returns the tenant's statement shapes from the pooler's heartbeat, without literals", async () => {
    client = await connectPg({ host: '127.0.0.1', port: pooler!.port, database: 'app_stmts', user: 'usr_stmts', password });
    await client.query('CREATE TABLE notes_t (id int, note text)');
    for (let i = 0; i < 5; i++) await client.query(`INSERT INTO notes_t VALUES (${1000 + i}, 'hunter2-secret-${i}')`);
    for (let i = 0; i < 3; i++) await client.query('SELECT note FROM notes_t WHERE id = $1', [1000 + i]);
    await client.query("SELECT $tag$dollar-secret$tag$, E'e-secret\\n', ARRAY['array-secret', 'x'], 42.5e3");
    await controller!.heartbeat();

    const res = await invoke(makeStatements(deps), { method: 'GET', path: '/tenants/stmts-tenant/statements', pathParameters: { id: 'stmts-tenant' } });
    expect(res.status).toBe(200);
    expect(field(res.body, 'tenantId')).toBe('stmts-tenant');
    expect(field(res.body, 'poolers')).toBe(1);
    const since = field<string>(res.body, 'window', 'since');
    const until = field<string>(res.body, 'window', 'until');
    expect(Date.parse(since)).toBeLessThanOrEqual(Date.parse(until));
    const statements = field<Array<{ text: string; calls: number; totalMs: number; meanMs: number; poolers: number }>>(res.body, 'statements');
    const byText = new Map(statements.map((s) => [s.text, s]));
    expect(byText.get('INSERT INTO notes_t VALUES (?, ?)')?.calls).toBe(5);
    expect(byText.get('SELECT note FROM notes_t WHERE id = $1')?.calls).toBe(3);
    expect(byText.get('SELECT ?, ?, ARRAY[?, ?], ?')?.calls).toBe(1);
    for (const s of statements) {
      expect(s.poolers).toBe(1);
      expect(s.meanMs).toBeCloseTo(s.totalMs / s.calls, 6);
    }
    const totals = statements.map((s) => s.totalMs);
    expect(totals).toEqual([...totals].sort((x, y) => y - x));
    // Nothing the client sent as a value left the pooler.
    expect(res.rawBody).not.toMatch(/secret|hunter2/);
    expect(statements.map((s) => s.text).join('\n')).not.toMatch(/100[0-4]|42|5e3/);
  });

  it('answers 404 for an unknown tenant', async () => {
    const res = await invoke(makeStatements(deps), { method: 'GET', path: '/tenants/nobody-here/statements', pathParameters: { id: 'nobody-here' } });
    expect(res.status).toBe(404);
    expect(field(res.body, 'error', 'code')).toBe('NOT_FOUND');
  });

  it('switchyard tenants statements <id> shows them through the local API (table and --json), exit 1 for an unknown tenant', async () => {
    const token = ensureApiToken(stateDir);
    api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(deps), log: pino({ level: 'silent' }) });
    writeFileSync(join(stateDir, 'stack.json'), JSON.stringify({ api: api.url }), { mode: 0o600 });
    const bin = resolve(import.meta.dirname, '..', 'bin', 'switchyard.js');
    const cli = (args: string[]) => run(process.execPath, [bin, ...args, '--api', api!.url], { timeoutMs: 30_000, env: { SWITCHYARD_API: '', SWITCHYARD_API_TOKEN: '', SWITCHYARD_STATE_DIR: stateDir } });
    const shown = await cli(['tenants', 'statements', 'stmts-tenant']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^1 pooler\(s\), figures since \S+ \(each pooler's start\), as of \S+\n/);
    expect(shown.stdout).toMatch(/CALLS +TOTAL_MS +MEAN_MS +MAX_MS +POOLERS +QUERY/);
    expect(shown.stdout).toMatch(/\n5 +[\d.]+ +[\d.]+ +[\d.]+ +1 +INSERT INTO notes_t VALUES \(\?, \?\)\n/);
    const asJson = await cli(['tenants', 'statements', 'stmts-tenant', '--json']);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(field<unknown[]>(JSON.parse(asJson.stdout), 'statements').length).toBeGreaterThanOrEqual(3);
    const unknown = await cli(['tenants', 'statements', 'nobody-here']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('(NOT_FOUND)');
  });
});
