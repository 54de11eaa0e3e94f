// The file source: with watch on, editing the YAML file reloads it (a new tenant is served
// without any signal); the admin console's RELOAD path (pooler.requestReload) re-reads it too; a
// broken file is refused and the running configuration stays.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toYaml } from '../shared/src/yaml.ts';
import { SourceController } from '../pooler/src/config/sources/controller.ts';
import { FileSource } from '../pooler/src/config/sources/file-source.ts';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, until, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let dir: string;
let file: string;
let alpha: TestTenant;
let beta: TestTenant;
let pooler: Pooler | undefined;
let controller: SourceController | undefined;
const clients: PgClient[] = [];

/** Writes the file the way config management does: a temp file renamed over the old one. */
function writeFile(text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Logs in and runs a query: true when served, false when refused as a login the pooler does not
 * know (FATAL 28P01, which is also what a wrong password gets). Any other failure is an error.
 */
async function canLogIn(t: TestTenant): Promise<boolean> {
  let c: PgClient;
  try {
    c = await connectPg(poolerConn(pooler!, t));
  } catch (err) {
    const e = pgErrorInfo(err);
    if (e.code === '28P01' && e.severity === 'FATAL') return false;
    throw err;
  }
  clients.push(c);
  expect((await c.query<{ db: string }>('SELECT current_database() AS db')).rows).toEqual([{ db: t.destination.database }]);
  return true;
}

beforeAll(async () => {
  pg = await startPostgres();
  alpha = await createTenant(pg, { id: 'file-alpha' });
  beta = await createTenant(pg, { id: 'file-beta' });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-file-'));
  file = join(dir, 'pooler.yaml');
  writeFile(toYaml(poolerConfig([alpha.config])));
  const log = testLogger();
  const source = new FileSource(file, { log, watch: true, debounceMs: 100 });
  const initial = await source.load();
  pooler = await startPooler(initial.config, { logger: log, baseDir: dir });
  controller = new SourceController(pooler, source, initial, { log });
  controller.start();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await controller?.stop();
  await pooler?.close();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('file source', () => {
  it('reloads when the watched file changes', async () => {
    expect(await canLogIn(alpha)).toBe(true);
    expect(await canLogIn(beta)).toBe(false);
    writeFile(toYaml(poolerConfig([alpha.config, beta.config])));
    await until(() => canLogIn(beta), 20_000, 'the new tenant served after the file changed');
  });

  it('refuses a broken file on RELOAD and keeps serving the running configuration', async () => {
    const version = pooler!.configVersion;
    writeFile('tenants: [ {{ not yaml');
    await expect(pooler!.requestReload('test')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(pooler!.configVersion).toBe(version);
    expect(await canLogIn(alpha)).toBe(true);
    expect(await canLogIn(beta)).toBe(true);
    // A valid file again: RELOAD applies it (beta removed).
    writeFile(toYaml(poolerConfig([alpha.config])));
    await pooler!.requestReload('test');
    expect(pooler!.snapshot().byId.has('file-beta')).toBe(false);
    expect(await canLogIn(beta)).toBe(false);
  });
});
