// The PostgreSQL server every target ends at: a throwaway cluster with room for 500 direct
// pgbench clients, a SCRAM login role owning a pgbench database (scale 1 by default).
import { randomBytes } from 'node:crypto';
import { run, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';

export interface BenchDatabase {
  server: PostgresServer;
  database: string;
  user: string;
  password: string;
  /** pg_authid.rolpassword: "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>". */
  verifier: string;
}

export async function prepareDatabase(opts: { maxConnections: number; scale: number }): Promise<BenchDatabase> {
  const server = await startPostgres({ settings: { max_connections: opts.maxConnections } });
  try {
    const database = 'bench';
    const user = 'bench';
    // Random per run; only ever in memory, temp config files (mode 0600) and child environments.
    const password = randomBytes(18).toString('base64url');
    await server.psql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    await server.psql(`CREATE DATABASE ${database} OWNER ${user}`);
    // Over the Unix socket (trust), as the bench role so it owns the tables.
    const init = await run('pgbench', ['-i', '-q', '-s', String(opts.scale), '-h', server.socketDir, '-p', String(server.port), '-U', user, database]);
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr.trim()}`);
    const verifier = await server.psql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${user}'`);
    if (!verifier.startsWith('SCRAM-SHA-256$')) throw new Error('the bench role has no SCRAM verifier');
    return { server, database, user, password, verifier };
  } catch (err) {
    await server.stop().catch(() => {});
    throw err;
  }
}
