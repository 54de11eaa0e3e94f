// The connection string and psql line for a tenant, as the CLI prints them (cli/ tenants create).
import type { ConsoleEnv } from './env.ts';
import type { Tenant } from './api.ts';

export function connectionString(env: ConsoleEnv, t: Tenant, password: string): string {
  const p = env.pooler ?? { host: '<pooler-host>', port: 6432, sslmode: 'require' };
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return `postgresql://${encodeURIComponent(t.client.user)}:${encodeURIComponent(password)}@${host}:${p.port}/${encodeURIComponent(t.client.database)}?sslmode=${p.sslmode}`;
}

export function psqlLine(env: ConsoleEnv, t: Tenant, password: string): string {
  return `psql "${connectionString(env, t, password)}"`;
}
