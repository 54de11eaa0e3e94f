// Admin console logins: the virtual databases and the admin users' verifiers (config
// `admin.users`). Admin users authenticate exactly like tenants (SCRAM-SHA-256 or md5 against a
// stored PostgreSQL-format verifier, frontend/login.ts); they are a separate list, so a tenant's
// credentials never open the console.
import { parseVerifier } from '../../../shared/src/auth/verifier.ts';
import type { PoolerConfig } from '../config/schema.ts';
import type { ScramVerifier } from '../config/snapshot.ts';

/** Database names that reach the admin console; `pgbouncer` for existing tools and exporters. */
export const ADMIN_DATABASES: readonly string[] = ['switchyard', 'pgbouncer'];

export function isAdminDatabase(database: string): boolean {
  return ADMIN_DATABASES.includes(database);
}

/** The verifiers a login is checked against (the same shape a tenant route carries). */
export interface Credentials {
  readonly scram: readonly ScramVerifier[];
  /** "md5" + hex, computed over password || admin user name. */
  readonly md5: readonly string[];
  /** `md5` asks for an md5 password even when SCRAM verifiers exist (tenants' auth_method). */
  readonly authMethod?: 'scram-sha-256' | 'md5';
}

type AdminConfig = PoolerConfig['admin'];

/** Parsed per config object: a reload brings a new object, hence fresh credentials. */
const cache = new WeakMap<AdminConfig, Map<string, Credentials>>();

function build(admin: AdminConfig): Map<string, Credentials> {
  const byUser = new Map<string, { scram: ScramVerifier[]; md5: string[] }>();
  for (const u of admin.users) {
    let c = byUser.get(u.user);
    if (c === undefined) byUser.set(u.user, (c = { scram: [], md5: [] }));
    // The schema validated the verifier, so parsing cannot fail here.
    const v = parseVerifier(u.verifier);
    if (v.kind === 'scram') c.scram.push(v);
    else c.md5.push(`md5${v.hash}`);
  }
  return byUser;
}

/** The credentials of admin user `user`, or undefined (the login then fails like a wrong password). */
export function adminCredentials(admin: AdminConfig, user: string): Credentials | undefined {
  let byUser = cache.get(admin);
  if (byUser === undefined) cache.set(admin, (byUser = build(admin)));
  return byUser.get(user);
}
