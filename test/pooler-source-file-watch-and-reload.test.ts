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
import { connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
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

async function canLogIn(t: TestTenant): Promise<boolean> {
  try {
    const c = await connectPg(poolerConn(pooler!, t));
    clients.push(c);
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
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
