// Admin console fixtures: admin users whose verifiers PostgreSQL itself computes (so the tests do
// not trust the pooler's verifier code), connection settings for the console, and a small
// node-postgres wrapper for admin commands (simple query protocol: queries without parameters).
import type pg from 'pg';
import type { PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg } from './clients.ts';
import { md5VerifierFromPostgres, randomPassword, scramVerifierFromPostgres, type AuthKind, type ConnSettings } from './tenants.ts';

export interface AdminLogin {
  readonly user: string;
  readonly password: string;
  readonly auth: AuthKind;
  /** What goes into the pooler config's admin.users. */
  readonly config: { user: string; verifier: string };
}

export async function createAdminLogin(pg: PostgresServer, user = 'sy_admin', auth: AuthKind = 'scram'): Promise<AdminLogin> {
  const password = randomPassword('adm');
  const verifier = auth === 'md5' ? await md5VerifierFromPostgres(pg, password, user) : await scramVerifierFromPostgres(pg, password);
  return { user, password, auth, config: { user, verifier } };
}

/** Connection settings for the admin console (database `switchyard`, or `pgbouncer`). */
export function adminConn(pooler: { host: string; port: number }, admin: AdminLogin, database = 'switchyard'): ConnSettings {
  return { host: pooler.host, port: pooler.port, database, user: admin.user, password: admin.password };
}

/** A connected admin console client (close it with endQuietly). */
export function connectAdmin(pooler: { host: string; port: number }, admin: AdminLogin, database = 'switchyard'): Promise<pg.Client> {
  return connectPg(adminConn(pooler, admin, database));
}

/** Runs one admin command on a fresh console connection and returns its rows. */
export async function adminRows(pooler: { host: string; port: number }, admin: AdminLogin, command: string): Promise<Record<string, unknown>[]> {
  const c = await connectAdmin(pooler, admin);
  try {
    return (await c.query<Record<string, unknown>>(command)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}
