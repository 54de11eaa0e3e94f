// Topology by asking the servers themselves: connect to each member and run
// `SELECT pg_is_in_recovery()` (PostgreSQL docs, "System Administration Functions": true while
// the server is a standby). The member answering false is the writer, those answering true are
// readers, unreachable members are skipped. Used by local mode and for `static` clusters.
import pg from 'pg';
import type { Endpoint } from '../domain/common.ts';
import { clusterAdminSecretContext } from '../domain/tenant.ts';
import type { ObservedTopology } from '../domain/writer-change.ts';
import type { SecretBox } from '../ports/secret-box.ts';
import type { Topology, TopologySubject } from '../ports/topology.ts';

export interface ProbeCredentials {
  user: string;
  password?: string;
  database: string;
}

export interface PgTopologyOptions {
  /** Decrypts `cluster.admin.passwordCiphertext`. */
  secrets?: SecretBox;
  /** Overrides how probe credentials are found (default: the cluster's admin credentials). */
  credentials?: (cluster: TopologySubject) => Promise<ProbeCredentials>;
  /** Per member, for connect and query together. */
  timeoutMs?: number;
}

export class PgTopology implements Topology {
  readonly #opts: PgTopologyOptions;
  constructor(opts: PgTopologyOptions = {}) {
    this.#opts = opts;
  }

  async describe(cluster: TopologySubject): Promise<ObservedTopology> {
    const members = probeMembers(cluster);
    const creds = await (this.#opts.credentials ?? ((c) => defaultCredentials(c, this.#opts.secrets)))(cluster);
    const answers = await Promise.all(members.map((m) => probe(m, creds, this.#opts.timeoutMs ?? 3000)));
    const writers = members.filter((_, i) => answers[i] === false);
    const readers = members.filter((_, i) => answers[i] === true);
    // Two servers both accepting writes (an old primary not yet fenced after a promote): keep the
    // one we already route to rather than flapping; the operator must fence the other.
    const current = cluster.writer;
    const writer = writers.find((w) => current && w.host === current.host && w.port === current.port) ?? writers[0] ?? null;
    return { writer: writer ? { ...writer } : null, readers: readers.map((r) => ({ ...r })) };
  }

  async maxConnections(cluster: TopologySubject): Promise<number | undefined> {
    const writer = cluster.writer ?? probeMembers(cluster)[0];
    if (writer === undefined) return undefined;
    const creds = await (this.#opts.credentials ?? ((c) => defaultCredentials(c, this.#opts.secrets)))(cluster);
    const v = await ask(writer, creds, this.#opts.timeoutMs ?? 3000, "SELECT current_setting('max_connections')::int AS v");
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
  }
}

/** `members` when given, else the known writer and readers. Deduplicated, order kept. */
export function probeMembers(cluster: TopologySubject): Endpoint[] {
  const all = cluster.members ?? [...(cluster.writer ? [cluster.writer] : []), ...(cluster.readers ?? [])];
  const seen = new Set<string>();
  return all.filter((m) => {
    const k = `${m.host}:${m.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

async function defaultCredentials(cluster: TopologySubject, secrets: SecretBox | undefined): Promise<ProbeCredentials> {
  const admin = cluster.admin;
  if (admin && 'passwordCiphertext' in admin) {
    if (!secrets) throw new Error(`cluster ${cluster.clusterId}: a SecretBox is needed to decrypt the admin password`);
    return { user: admin.user, password: await secrets.decrypt(admin.passwordCiphertext, clusterAdminSecretContext(cluster.clusterId)), database: 'postgres' };
  }
  if (admin && 'secretArn' in admin) {
    throw new Error(`cluster ${cluster.clusterId}: admin credentials in Secrets Manager are not supported by the pg topology`);
  }
  // No admin credentials: rely on the server trusting us (trust/peer/.pgpass), like psql would.
  return { user: process.env.PGUSER ?? 'postgres', database: 'postgres' };
}

/** true/false as the server answered; undefined when it could not be asked. */
async function probe(member: Endpoint, creds: ProbeCredentials, timeoutMs: number): Promise<boolean | undefined> {
  const v = await ask(member, creds, timeoutMs, 'SELECT pg_is_in_recovery() AS v');
  return typeof v === 'boolean' ? v : undefined;
}

/** The one value `sql` returns (column v); undefined when the server could not be asked. */
async function ask(member: Endpoint, creds: ProbeCredentials, timeoutMs: number, sql: string): Promise<unknown> {
  const client = new pg.Client({
    host: member.host,
    port: member.port,
    user: creds.user,
    password: creds.password,
    database: creds.database,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'switchyard-topology',
  });
  // An unreachable member emits 'error' too; without a listener that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const res = await client.query<{ v: unknown }>(sql);
    return res.rows[0]?.v;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
