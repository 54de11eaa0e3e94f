// What the local stack reads from its pooler: the admin console (docs/admin.md; PgBouncer's
// SHOW commands over the simple query protocol, as the `admin` user whose password is in
// `<stateDir>/admin.password`) and the metrics endpoint (docs/metrics.md). The config version the
// pooler applied is read from the console (SHOW CONFIG's applied_config_version, the value of the
// metric switchyard_applied_config_version), never from its log.
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

/**
 * The longest one console command may take. The pooler answers SHOW at once (a multi-worker
 * pooler's fan-out gives up on a silent worker after 10 s: cluster/supervisor.ts); a pooler that
 * accepted the session and then went silent (SIGSTOP, a blocked event loop) would otherwise hold
 * every caller — the failover's wait for the applied version, GET /status — for good.
 */
const QUERY_TIMEOUT_MS = 12_000;

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
    const c = new pg.Client({ host: this.#host, port: this.#port, user: ADMIN_USER, password: this.#password, database: 'switchyard', connectionTimeoutMillis: 3000, query_timeout: QUERY_TIMEOUT_MS, application_name: 'switchyard-local' });
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

  /**
   * The control plane's published config version the pooler applied last (SHOW CONFIG
   * `applied_config_version`; pooler/src/admin/show-config.ts), undefined when SHOW CONFIG has no
   * such row.
   */
  async appliedConfigVersion(): Promise<number | undefined> {
    const row = (await this.query('SHOW CONFIG')).find((r) => r.key === 'applied_config_version');
    const v = Number(row?.value);
    return row !== undefined && Number.isSafeInteger(v) ? v : undefined;
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => undefined);
  }
}
