// Creates (and, on purge, drops) a tenant's role and database — or schema, for schema-per-tenant —
// on its target cluster, connected as the cluster's admin. Every step checks the catalogs first and
// tolerates a concurrent twin, so running it again after a partial failure, or twice, converges.
//
// Safety: a role or database that exists but is not ours is never taken over. Roles we create carry
// a COMMENT naming the tenant (pg_shdescription); a role without that marker, or a privileged one,
// is refused with 409, and so is a database or schema owned by any other role.
//
// Passwords never travel as SQL text: the role's password is set from a SCRAM-SHA-256 verifier
// (PostgreSQL stores a pre-hashed value as given: CREATE ROLE docs, "PASSWORD"), so statement
// logging on the server (log_statement = ddl) cannot reveal the destination password.
import { escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { createScramVerifier } from '../../shared/src/auth/verifier.ts';
import { HttpError } from './http-errors.ts';
import { sqlState, withSession, type PgConnect, type PgSession, type PgTarget } from './pg-target.ts';

export interface ProvisionSpec {
  tenantId: string;
  /** Destination role the pooler logs in as. */
  role: string;
  /** Destination password (plaintext, held in memory only for the duration of the call). */
  password: string;
  database: string;
  /** Schema-per-tenant: the database is shared and the tenant owns this schema in it. */
  schema?: string | undefined;
}

export interface ProvisionResult {
  roleCreated: boolean;
  databaseCreated: boolean;
  schemaCreated: boolean;
}

/** A role, database or schema with the wanted name exists and belongs to someone else. */
export class DestinationTakenError extends HttpError {
  constructor(what: 'role' | 'database' | 'schema', name: string) {
    super(409, `${what.toUpperCase()}_TAKEN`, `${what} "${name}" already exists on the target and is not managed for this tenant`);
  }
}

// SQLSTATEs (PostgreSQL Appendix A).
const DUPLICATE_OBJECT = '42710';
const DUPLICATE_DATABASE = '42P04';
const DUPLICATE_SCHEMA = '42P06';
const INSUFFICIENT_PRIVILEGE = '42501';

export function roleMarker(tenantId: string): string {
  return `switchyard:tenant=${tenantId}`;
}

interface RoleRow {
  privileged: boolean;
  marker: string | null;
}

async function readRole(s: PgSession, role: string): Promise<RoleRow | undefined> {
  const r = await s.query<RoleRow>(
    `SELECT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls) AS privileged,
            shobj_description(oid, 'pg_authid') AS marker
       FROM pg_roles WHERE rolname = $1`,
    [role],
  );
  return r.rows[0];
}

async function databaseOwner(s: PgSession, database: string): Promise<string | undefined> {
  const r = await s.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [database]);
  return r.rows[0]?.owner;
}

async function schemaOwner(s: PgSession, schema: string): Promise<string | undefined> {
  const r = await s.query<{ owner: string }>('SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1', [schema]);
  return r.rows[0]?.owner;
}

function assertOurRole(row: RoleRow, spec: ProvisionSpec, adminUser: string): void {
  if (spec.role === adminUser || row.privileged || row.marker !== roleMarker(spec.tenantId)) {
    throw new DestinationTakenError('role', spec.role);
  }
}

/** Makes sure the role exists, is ours, and has the destination password. */
async function ensureRole(s: PgSession, spec: ProvisionSpec, adminUser: string): Promise<boolean> {
  const verifier = createScramVerifier(spec.password);
  let created = false;
  let row = await readRole(s, spec.role);
  if (!row) {
    try {
      await s.query(`CREATE ROLE ${ident(spec.role)} LOGIN PASSWORD ${literal(verifier)}`);
      await s.query(`COMMENT ON ROLE ${ident(spec.role)} IS ${literal(roleMarker(spec.tenantId))}`);
      created = true;
    } catch (err) {
      if (sqlState(err) !== DUPLICATE_OBJECT) throw err;
    }
    row = await readRole(s, spec.role);
    if (!row) throw new Error('role vanished while provisioning');
  }
  assertOurRole(row, spec, adminUser);
  if (!created) await s.query(`ALTER ROLE ${ident(spec.role)} WITH LOGIN PASSWORD ${literal(verifier)}`);
  // A non-superuser admin (RDS) must be able to SET ROLE to the tenant role to make it an owner
  // (CREATE DATABASE ... OWNER, CREATE SCHEMA ... AUTHORIZATION). Since PostgreSQL 16 the creator
  // holds ADMIN OPTION on roles it created, which allows this grant.
  const m = await s.query<{ superuser: boolean; member: boolean }>(
    `SELECT rolsuper AS superuser, pg_has_role(current_user, $1, 'MEMBER') AS member FROM pg_roles WHERE rolname = current_user`,
    [spec.role],
  );
  const me = m.rows[0];
  if (me && !me.superuser && !me.member) await s.query(`GRANT ${ident(spec.role)} TO CURRENT_USER`);
  return created;
}

async function createDatabase(s: PgSession, database: string, owner: string | undefined): Promise<boolean> {
  try {
    // CREATE DATABASE cannot run inside a transaction block; pg runs each simple query on its own.
    await s.query(`CREATE DATABASE ${ident(database)}${owner ? ` OWNER ${ident(owner)}` : ''}`);
    return true;
  } catch (err) {
    if (sqlState(err) !== DUPLICATE_DATABASE) throw err;
    return false;
  }
}

/**
 * Provisions the tenant's role and database (or schema). `admin` points at the cluster's writer,
 * maintenance database (usually `postgres`), with the cluster's admin credentials.
 */
export async function provisionTenant(connect: PgConnect, admin: PgTarget, spec: ProvisionSpec): Promise<ProvisionResult> {
  const result: ProvisionResult = { roleCreated: false, databaseCreated: false, schemaCreated: false };
  await withSession(connect, admin, async (s) => {
    result.roleCreated = await ensureRole(s, spec, admin.user);
    const db = ident(spec.database);
    if (spec.schema === undefined) {
      // Database per tenant: the tenant's role owns it and nobody else may connect.
      const owner = await databaseOwner(s, spec.database);
      if (owner === undefined) result.databaseCreated = await createDatabase(s, spec.database, spec.role);
      const now = owner ?? (await databaseOwner(s, spec.database));
      if (now !== spec.role) throw new DestinationTakenError('database', spec.database);
      await s.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    } else {
      // Schema per tenant: a shared database (created here when missing, closed to PUBLIC).
      if ((await databaseOwner(s, spec.database)) === undefined) {
        result.databaseCreated = await createDatabase(s, spec.database, undefined);
        if (result.databaseCreated) await s.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
      }
      await s.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${ident(spec.role)}`);
    }
  });
  if (spec.schema !== undefined) {
    const schema = spec.schema;
    await withSession(connect, { ...admin, database: spec.database }, async (s) => {
      if (result.databaseCreated) {
        // Before PostgreSQL 15 every role may CREATE in `public`; in a shared database that would
        // let tenants see each other's objects. Not ours to change when we did not create the db.
        await s.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC').catch((err: unknown) => {
          if (sqlState(err) !== INSUFFICIENT_PRIVILEGE) throw err;
        });
      }
      let owner = await schemaOwner(s, schema);
      if (owner === undefined) {
        try {
          await s.query(`CREATE SCHEMA ${ident(schema)} AUTHORIZATION ${ident(spec.role)}`);
          result.schemaCreated = true;
        } catch (err) {
          if (sqlState(err) !== DUPLICATE_SCHEMA) throw err;
        }
        owner = await schemaOwner(s, schema);
      }
      if (owner !== spec.role) throw new DestinationTakenError('schema', schema);
      // For direct connections; the pooler sets search_path on its server connections itself.
      await s.query(`ALTER ROLE ${ident(spec.role)} IN DATABASE ${ident(spec.database)} SET search_path = ${ident(schema)}`);
    });
  }
  return result;
}

export interface PurgeSpec {
  tenantId: string;
  role: string;
  database: string;
  schema?: string | undefined;
  /** False when another tenant still uses the role. */
  dropRole: boolean;
  /** False when another tenant still uses the database (database-per-tenant) or the schema. */
  dropData: boolean;
}

export interface PurgeResult {
  roleDropped: boolean;
  databaseDropped: boolean;
  schemaDropped: boolean;
}

/**
 * Drops the tenant's database (or schema) and role. Refuses (409) to drop anything that exists but
 * is not owned by / marked for this tenant. Missing objects are fine (a retried purge).
 */
export async function purgeTenant(connect: PgConnect, admin: PgTarget, spec: PurgeSpec): Promise<PurgeResult> {
  const result: PurgeResult = { roleDropped: false, databaseDropped: false, schemaDropped: false };
  const role = await withSession(connect, admin, (s) => readRole(s, spec.role));
  const roleIsOurs = role !== undefined && !role.privileged && spec.role !== admin.user && role.marker === roleMarker(spec.tenantId);
  if (role && spec.dropRole && !roleIsOurs) throw new DestinationTakenError('role', spec.role);

  if (spec.dropData) {
    if (spec.schema === undefined) {
      await withSession(connect, admin, async (s) => {
        const owner = await databaseOwner(s, spec.database);
        if (owner === undefined) return;
        if (owner !== spec.role) throw new DestinationTakenError('database', spec.database);
        const v = await s.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
        const db = ident(spec.database);
        if ((v.rows[0]?.v ?? 0) >= 130000) {
          await s.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        } else {
          await s.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [spec.database]);
          await s.query(`DROP DATABASE IF EXISTS ${db}`);
        }
        result.databaseDropped = true;
      });
    } else {
      const schema = spec.schema;
      const exists = await withSession(connect, admin, async (s) => (await databaseOwner(s, spec.database)) !== undefined);
      if (exists) {
        await withSession(connect, { ...admin, database: spec.database }, async (s) => {
          const owner = await schemaOwner(s, schema);
          if (owner !== undefined && owner !== spec.role) throw new DestinationTakenError('schema', schema);
          if (owner !== undefined) {
            await s.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
            result.schemaDropped = true;
          }
          // Whatever else the role owns or was granted in the shared database.
          if (roleIsOurs && spec.dropRole) await s.query(`DROP OWNED BY ${ident(spec.role)}`);
        });
      }
    }
  }

  if (roleIsOurs && spec.dropRole) {
    await withSession(connect, admin, async (s) => {
      await s.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [spec.role]);
      await s.query(`DROP OWNED BY ${ident(spec.role)}`);
      await s.query(`DROP ROLE IF EXISTS ${ident(spec.role)}`);
      result.roleDropped = true;
    });
  }
  return result;
}
