// The immutable routing snapshot the proxy reads: tenants by the (database, user) pair a client
// asks for, with parsed verifiers and resolved destination passwords. A reload builds a new one
// and swaps it in atomically (docs/architecture.md, "Reload semantics").
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseVerifier } from '../../../shared/src/auth/verifier.ts';
import { ConfigError } from '../../../shared/src/config-error.ts';
import type { ServerTarget } from '../backend/connect.ts';
import type { ServerTls } from '../backend/server-tls.ts';
import type { PoolSettings, PoolerConfig, TenantConfig } from './schema.ts';
import { READ_DATABASE_SUFFIX } from './read-endpoint-schema.ts';

export type ScramVerifier = Extract<ReturnType<typeof parseVerifier>, { kind: 'scram' }>;

export interface TenantRoute {
  readonly id: string;
  readonly database: string;
  readonly user: string;
  readonly status: TenantConfig['status'];
  readonly pool: PoolSettings;
  readonly target: ServerTarget;
  /** SCRAM verifiers, newest first (several during a password rotation). */
  readonly scram: readonly ScramVerifier[];
  /** md5 hashes ("md5" + hex), newest first. */
  readonly md5: readonly string[];
  /** The method clients are asked for (frontend/login.ts). */
  readonly authMethod: 'scram-sha-256' | 'md5';
  /** The read endpoint (login `<database>_ro`, backend/reader-router.ts), when the tenant has one. */
  readonly read?: ReadRoute | undefined;
}

export interface ReadRoute {
  /** The database name clients of the read endpoint ask for: `<database>_ro`. */
  readonly database: string;
  /** Each reader: the tenant's target with the reader's host and port. */
  readonly readers: readonly ServerTarget[];
  readonly maxLagMs: number;
}

/** A tenant of the configuration that is not served, and why (config/validate.ts, buildSnapshot). */
export interface SkippedTenant {
  /** The tenant's id, or `tenants.<index>` when it has no valid one. */
  readonly id: string;
  readonly reason: string;
}

export interface Snapshot {
  readonly version: number;
  readonly byLogin: ReadonlyMap<string, TenantRoute>;
  readonly byId: ReadonlyMap<string, TenantRoute>;
  /**
   * Tenants by the (database, user) of their read endpoint. A read login that is some tenant's
   * login (or another read login) is not served: the login keeps its tenant (the API refuses both).
   */
  readonly byReadLogin?: ReadonlyMap<string, TenantRoute>;
  /** Tenants of the configuration left out of this snapshot (invalid, or in conflict with another). */
  readonly skipped?: readonly SkippedTenant[];
}

// The pooler's modules import ConfigError from here; the class is shared with the AWS adapters
// (a missing SWITCHYARD_* variable is the same error as an invalid config file).
export { ConfigError };

export function loginKey(database: string, user: string): string {
  return `${database}\u0000${user}`;
}

function readPassword(t: TenantConfig, baseDir: string): string {
  if (t.target.password !== undefined) return t.target.password;
  if (t.target.password_file !== undefined) {
    const file = isAbsolute(t.target.password_file) ? t.target.password_file : resolve(baseDir, t.target.password_file);
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`tenants.${t.id}.target.password_file: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  throw new ConfigError(`tenants.${t.id}.target: needs password or password_file`);
}

/**
 * A target's TLS settings (docs/tls.md). The CA file is read here, once per snapshot: `caCache`
 * shares one read between tenants that name the same bundle.
 */
function readServerTls(t: TenantConfig, baseDir: string, caCache: Map<string, string>): ServerTls | undefined {
  const cfg = t.target.tls;
  if (cfg === undefined || cfg.mode === 'disable') return undefined;
  if (cfg.ca_file === undefined) return { mode: cfg.mode };
  const file = isAbsolute(cfg.ca_file) ? cfg.ca_file : resolve(baseDir, cfg.ca_file);
  let ca = caCache.get(file);
  if (ca === undefined) {
    try {
      ca = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`tenants.${t.id}.target.tls.ca_file: cannot read ${file}: ${(err as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`tenants.${t.id}.target.tls.ca_file: ${file} holds no PEM certificate`);
    caCache.set(file, ca);
  }
  return { mode: cfg.mode, ca };
}

function buildRoute(t: TenantConfig, baseDir: string, caCache: Map<string, string>): TenantRoute {
  const scram: ScramVerifier[] = [];
  const md5: string[] = [];
  t.verifiers.forEach((v, i) => {
    let parsed: ReturnType<typeof parseVerifier>;
    try {
      parsed = parseVerifier(v);
    } catch {
      throw new ConfigError(`tenants.${t.id}.verifiers.${i}: not a PostgreSQL SCRAM-SHA-256 or md5 verifier`);
    }
    if (parsed.kind === 'scram') scram.push(parsed);
    else md5.push(`md5${parsed.hash}`);
  });
  const authMethod = t.auth_method ?? (scram.length > 0 ? 'scram-sha-256' : 'md5');
  if ((authMethod === 'md5' ? md5 : scram).length === 0) {
    throw new ConfigError(`tenants.${t.id}.auth_method: ${authMethod} needs a${authMethod === 'md5' ? 'n md5' : ' SCRAM-SHA-256'} verifier`);
  }
  const target: ServerTarget = {
    host: t.target.host,
    port: t.target.port,
    database: t.target.database,
    user: t.target.user,
    password: readPassword(t, baseDir),
    schema: t.schema,
    tls: readServerTls(t, baseDir, caCache),
  };
  return {
    id: t.id,
    database: t.database,
    user: t.user,
    status: t.status,
    pool: t.pool,
    target,
    scram,
    md5,
    authMethod,
    ...(t.read_endpoint !== undefined ? { read: readRoute(t, target) } : {}),
  };
}

function readRoute(t: TenantConfig, target: ServerTarget): ReadRoute {
  const r = t.read_endpoint!;
  return {
    database: `${t.database}${READ_DATABASE_SUFFIX}`,
    readers: r.readers.map((e) => ({ ...target, host: e.host, port: e.port })),
    maxLagMs: r.max_replica_lag_ms,
  };
}

/**
 * Builds the routing snapshot. One bad tenant never fails the others: a tenant whose files cannot
 * be read or whose verifier is invalid is skipped, and so are tenants in conflict — every tenant
 * of an id that appears twice, and every claimant of a (database, user) login that several
 * tenants claim, except the one `previous` already serves it to (a new row cannot take a login
 * over, nor knock out its incumbent). `invalid` lists tenants already refused by validation.
 */
export function buildSnapshot(
  config: PoolerConfig,
  version: number,
  baseDir = process.cwd(),
  previous?: Snapshot,
  invalid: readonly SkippedTenant[] = [],
): Snapshot {
  const skipped: SkippedTenant[] = [...invalid];
  const caCache = new Map<string, string>();
  const idCount = new Map<string, number>();
  for (const t of config.tenants) idCount.set(t.id, (idCount.get(t.id) ?? 0) + 1);
  const claims = new Map<string, TenantRoute[]>();
  for (const t of config.tenants) {
    if (idCount.get(t.id)! > 1) {
      skipped.push({ id: t.id, reason: `tenant id "${t.id}" appears ${idCount.get(t.id)} times in the configuration` });
      continue;
    }
    let route: TenantRoute;
    try {
      route = buildRoute(t, baseDir, caCache);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      skipped.push({ id: t.id, reason: err.message });
      continue;
    }
    const key = loginKey(t.database, t.user);
    const list = claims.get(key);
    if (list === undefined) claims.set(key, [route]);
    else list.push(route);
  }
  const byLogin = new Map<string, TenantRoute>();
  const byId = new Map<string, TenantRoute>();
  for (const [key, list] of claims) {
    let winner: TenantRoute | undefined = list[0];
    if (list.length > 1) {
      const incumbent = previous?.byLogin.get(key)?.id;
      winner = list.find((r) => r.id === incumbent);
      const ids = list.map((r) => `"${r.id}"`).join(', ');
      for (const r of list) {
        if (r === winner) continue;
        skipped.push({
          id: r.id,
          reason:
            winner === undefined
              ? `database "${r.database}" and user "${r.user}" are claimed by several tenants (${ids}); none is served`
              : `database "${r.database}" and user "${r.user}" are already used by tenant "${winner.id}"`,
        });
      }
    }
    if (winner === undefined) continue;
    byLogin.set(key, winner);
    byId.set(winner.id, winner);
  }
  return { version, byLogin, byId, byReadLogin: readLogins(byLogin, byId), skipped };
}

/** The served read logins: each claimed by one tenant only, and no tenant's login (which keeps it). */
function readLogins(byLogin: ReadonlyMap<string, TenantRoute>, byId: ReadonlyMap<string, TenantRoute>): Map<string, TenantRoute> {
  const claims = new Map<string, TenantRoute[]>();
  for (const r of byId.values()) {
    if (r.read === undefined) continue;
    const key = loginKey(r.read.database, r.user);
    const list = claims.get(key);
    if (list === undefined) claims.set(key, [r]);
    else list.push(r);
  }
  const out = new Map<string, TenantRoute>();
  for (const [key, list] of claims) if (list.length === 1 && !byLogin.has(key)) out.set(key, list[0]!);
  return out;
}
