// Switchyard as a separate process (`switchyard pooler --config <yaml>`), so /proc can tell its
// CPU and memory apart from the bench's own. One tenant mapping the bench login to PostgreSQL,
// configured like PgBouncer: the same verifier, transaction mode, the same pool size.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toYaml } from '../shared/src/yaml.ts';
import { configSchema, type PoolerConfigInput } from '../pooler/src/config/schema.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { startPoolerProcess, type PoolerProcess } from './pooler-process.ts';

export interface SwitchyardSpec {
  server: { host: string; port: number };
  database: string;
  user: string;
  password: string;
  verifier: string;
  poolSize: number;
  maxClients: number;
  /** Another checkout's root (its bin/switchyard.js) to run instead of this one, for A/B runs. */
  root?: string;
  /** TLS toward clients allowed (listen.tls mode allow) with this certificate. */
  tls?: { certFile: string; keyFile: string };
  /** `--workers N` (docs/workers.md); absent = the single process. */
  workers?: number;
  /** limits.max_client_conn and max_unauthenticated_per_address, when the defaults are too low (idle-clients.ts). */
  limits?: { maxClientConn: number; maxUnauthenticatedPerAddress: number };
}

const repoRoot = resolve(import.meta.dirname, '..');

export async function startSwitchyard(spec: SwitchyardSpec): Promise<PoolerProcess & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-pooler-'));
  const port = await freePort();
  const config: PoolerConfigInput = {
    listen: { host: '127.0.0.1', port, ...(spec.tls ? { tls: { mode: 'allow' as const, cert_file: spec.tls.certFile, key_file: spec.tls.keyFile } } : {}) },
    // warn: no per-connection log lines (PgBouncer runs with log_connections = 0 likewise).
    log_level: 'warn',
    limits: {
      shutdown_timeout: 1,
      ...(spec.limits ? { max_client_conn: spec.limits.maxClientConn, max_unauthenticated_per_address: spec.limits.maxUnauthenticatedPerAddress } : {}),
    },
    tenants: [
      {
        id: 'bench',
        database: spec.database,
        user: spec.user,
        verifiers: [spec.verifier],
        target: { host: spec.server.host, port: spec.server.port, database: spec.database, user: spec.user, password: spec.password },
        pool: { mode: 'transaction', size: spec.poolSize, max_clients: spec.maxClients },
      },
    ],
  };
  // Validate here so a drifted schema reads as a bench error, not as "the pooler failed to start".
  configSchema.parse(config);
  const configFile = join(dir, 'switchyard.yaml');
  writeFileSync(configFile, toYaml(config), { mode: 0o600 });
  try {
    const proc = await startPoolerProcess({
      name: 'switchyard',
      // The Node that runs the bench is the pinned Node 22 (npm puts node_modules/.bin first);
      // spawning it directly rather than via npx keeps an idle npm process out of the tree.
      command: process.execPath,
      args: [join(spec.root ?? repoRoot, 'bin', 'switchyard.js'), 'pooler', '--config', configFile, ...(spec.workers ? ['--workers', String(spec.workers)] : [])],
      cwd: spec.root ?? repoRoot,
      outputFile: join(dir, 'output.log'),
      login: { host: '127.0.0.1', port, database: spec.database, user: spec.user, password: spec.password },
      readyTimeoutMs: 20_000,
      openFiles: spec.maxClients + spec.poolSize + 100,
    });
    return {
      ...proc,
      dir,
      async stop() {
        await proc.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
