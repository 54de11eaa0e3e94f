// What the local stack reads from its pooler: the admin console (docs/admin.md; PgBouncer's
// SHOW commands over the simple query protocol, as the `admin` user whose password is in
// `<stateDir>/admin.password`) and the metrics endpoint (docs/metrics.md).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import pg from 'pg';
import { ADMIN_USER } from './pooler-process.ts';

export interface PoolRow {
  tenant: string;
  user: string;
  mode: string;
  clientsActive: number;
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
  /** Where the pooler sends this tenant now (SHOW DATABASES host/port). */
  target?: { host: string; port: number };
}

export class PoolerConsole {
  readonly #host: string;
  readonly #port: number;
  readonly #password: string;
  #client: pg.Client | undefined;

  constructor(host: string, port: number, password: string) {
    this.#host = host;
    this.#port = port;
    this.#password = password;
  }

  async #session(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const c = new pg.Client({ host: this.#host, port: this.#port, user: ADMIN_USER, password: this.#password, database: 'switchyard', connectionTimeoutMillis: 3000, application_name: 'switchyard-local' });
    c.on('error', () => {
      if (this.#client === c) this.#client = undefined;
    });
    await c.connect();
    this.#client = c;
    return c;
  }

  /** One console command; the session is kept between calls and reopened when it broke. */
  async query(command: string): Promise<Record<string, unknown>[]> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.#session();
      try {
        return (await c.query(command)).rows as Record<string, unknown>[];
      } catch (err) {
        const broken = this.#client !== c || (err as { code?: string }).code === undefined;
        if (!broken || attempt > 0) throw err;
        this.#client = undefined;
        await c.end().catch(() => undefined);
      }
    }
  }

  async pools(): Promise<PoolRow[]> {
    const [pools, dbs] = await Promise.all([this.query('SHOW POOLS'), this.query('SHOW DATABASES')]);
    const targets = new Map(dbs.map((d) => [String(d.name), { host: String(d.host), port: Number(d.port) }]));
    return pools.map((p) => {
      const row: PoolRow = {
        tenant: String(p.database),
        user: String(p.user),
        mode: String(p.pool_mode),
        clientsActive: Number(p.cl_active),
        clientsWaiting: Number(p.cl_waiting),
        serversActive: Number(p.sv_active) + Number(p.sv_tested),
        serversIdle: Number(p.sv_idle),
      };
      const t = targets.get(row.tenant);
      if (t) row.target = t;
      return row;
    });
  }

  /** Tenant id → the host:port the pooler routes it to now. */
  async targets(): Promise<Map<string, number>> {
    const dbs = await this.query('SHOW DATABASES');
    return new Map(dbs.map((d) => [String(d.name), Number(d.port)]));
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => undefined);
  }
}

/**
 * The published config version the pooler has applied, from its own log: the controller logs every
 * load from the source with the version it read ("configuration source ready" at start,
 * "configuration loaded from source" on each reload; pooler/src/config/sources/controller.ts and
 * main.ts). Fresher than the heartbeat (every 15 s); the pooler's /metrics gauge
 * `switchyard_config_version` counts routing snapshots instead, so it cannot say this.
 */
export function appliedVersionFromLog(logFile: string, pid: number, maxBytes = 512 * 1024): number | undefined {
  let text: string;
  try {
    const fd = openSync(logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, maxBytes);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.includes('"version"') || !line.includes('"source"')) continue;
    try {
      const o = JSON.parse(line) as { pid?: unknown; version?: unknown; source?: unknown };
      if (o.pid === pid && typeof o.version === 'number' && typeof o.source === 'string') return o.version;
    } catch {
      // a partial first line, or not JSON
    }
  }
  return undefined;
}
