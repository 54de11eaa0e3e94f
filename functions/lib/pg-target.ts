// Short-lived `pg` connections from a handler to a target database (provisioning, purge, metrics).
// One connection per request, closed before the handler returns: Lambda containers freeze between
// invocations, so a pooled connection would only go stale.
import pg from 'pg';

export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** The subset of pg.Client the handlers use (lets tests wrap or fake it). */
export interface PgSession {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  end(): Promise<void>;
}

export type PgConnect = (target: PgTarget) => Promise<PgSession>;

export type TargetSslMode = 'disable' | 'require' | 'verify-full';

export interface PgConnectOptions {
  /**
   * TLS to the target. `verify-full` checks the certificate chain and host name (RDS: put the RDS
   * CA bundle in NODE_EXTRA_CA_CERTS); `require` encrypts without verifying (libpq's sslmode names).
   */
  ssl?: TargetSslMode;
  connectTimeoutMs?: number;
  /** statement_timeout for every statement of the session. */
  statementTimeoutMs?: number;
}

export function sslModeFromEnv(env: NodeJS.ProcessEnv = process.env): TargetSslMode {
  const v = env.SWITCHYARD_TARGET_SSLMODE;
  if (v === 'disable' || v === 'require' || v === 'verify-full') return v;
  // Local mode talks to local servers; on AWS the targets are RDS, which supports TLS everywhere.
  return env.SWITCHYARD_LOCAL_STATE_DIR ? 'disable' : 'verify-full';
}

export function createPgConnect(opts: PgConnectOptions = {}): PgConnect {
  const ssl = opts.ssl ?? 'disable';
  return async (target) => {
    const client = new pg.Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password,
      ssl: ssl === 'disable' ? false : { rejectUnauthorized: ssl === 'verify-full' },
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      application_name: 'switchyard-control-plane',
    });
    // A connection dropped by the server emits 'error' on the client; unhandled it would kill the
    // process, handled here the pending query rejects instead.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
}

/** Runs `fn` with a fresh session and always closes it. */
export async function withSession<T>(connect: PgConnect, target: PgTarget, fn: (s: PgSession) => Promise<T>): Promise<T> {
  const session = await connect(target);
  try {
    return await fn(session);
  } finally {
    await session.end().catch(() => undefined);
  }
}

/** SQLSTATE of a server error (PostgreSQL Appendix A), if it is one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
