// Real clients for the pooler's integration tests: psql and pgbench (the PostgreSQL 15 binaries),
// node-postgres, and the waiting helpers the tests share. (Hand-driven protocol connections:
// raw-protocol.ts.)
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBinDir, run } from '../../shared/src/local/postgres-server.ts';
import type { ConnSettings } from './tenants.ts';

// ---------------------------------------------------------------------------------------------
// psql / pgbench

function pgBinary(name: 'psql' | 'pgbench'): string {
  const dir = findPostgresBinDir();
  if (existsSync(join(dir, name))) return join(dir, name);
  return `/usr/bin/${name}`;
}

/** A libpq connection string; sslmode=disable because the pooler has no TLS yet. */
export function conninfo(c: ConnSettings, extra: Record<string, string> = {}): string {
  const parts: Record<string, string> = {
    host: c.host,
    port: String(c.port),
    dbname: c.database,
    user: c.user,
    sslmode: 'disable',
    connect_timeout: '20',
    ...extra,
  };
  // libpq conninfo values: single-quote and backslash-escape (libpq docs, 34.1.1.1).
  return Object.entries(parts)
    .map(([k, v]) => `${k}='${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`)
    .join(' ');
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a psql script (fed on stdin) with unaligned, tuples-only output. The password travels in
 * PGPASSWORD, never on the command line. `stopOnError` maps to ON_ERROR_STOP.
 */
export function psql(
  c: ConnSettings,
  script: string,
  opts: { stopOnError?: boolean; args?: string[]; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ProcessResult> {
  const args = ['-X', '-w', '-A', '-t', '-q', '-v', `ON_ERROR_STOP=${opts.stopOnError === false ? 0 : 1}`, ...(opts.args ?? []), '-f', '-', conninfo(c)];
  return run(pgBinary('psql'), args, {
    env: { PGPASSWORD: c.password, PGAPPNAME: 'switchyard-test-psql', LC_ALL: 'C', ...opts.env },
    input: script,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

export interface PgbenchResult extends ProcessResult {
  /** "number of transactions actually processed: N/M" → N (undefined if absent). */
  processed: number | undefined;
  expected: number | undefined;
  /** "number of failed transactions: N" (pgbench ≥ 15), undefined if absent. */
  failed: number | undefined;
}

/** Runs pgbench with the given arguments against `c` (PGPASSWORD env). */
export async function pgbench(c: ConnSettings, args: string[], opts: { timeoutMs?: number } = {}): Promise<PgbenchResult> {
  const r = await run(pgBinary('pgbench'), [...args, conninfo(c)], {
    env: { PGPASSWORD: c.password, LC_ALL: 'C' },
    timeoutMs: opts.timeoutMs ?? 300_000,
  });
  const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(r.stdout);
  const failed = /number of failed transactions: (\d+)/.exec(r.stdout);
  return {
    ...r,
    processed: processed ? Number(processed[1]) : undefined,
    expected: processed ? Number(processed[2]) : undefined,
    failed: failed ? Number(failed[1]) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// node-postgres

export type PgClient = pg.Client;

/** Errors a pg client emitted outside a query (e.g. the server closed the connection). */
const backgroundErrors = new WeakMap<pg.Client, Error[]>();

/**
 * A connected node-postgres client. An 'error' listener records asynchronous errors (a FATAL
 * while idle, a lost connection) instead of crashing the test process; read them with
 * `backgroundErrorsOf`.
 */
export async function connectPg(c: ConnSettings, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    ssl: false,
    connectionTimeoutMillis: 20_000,
    ...extra,
  });
  const errors: Error[] = [];
  backgroundErrors.set(client, errors);
  client.on('error', (err) => errors.push(err));
  await client.connect();
  return client;
}

export function backgroundErrorsOf(client: pg.Client): readonly Error[] {
  return backgroundErrors.get(client) ?? [];
}

/** The client's TCP socket (node-postgres keeps it at `connection.stream`). */
export function socketOf(client: pg.Client): Socket {
  const c = client as unknown as { connection?: { stream?: Socket } };
  const s = c.connection?.stream;
  if (!s) throw new Error('pg client has no socket');
  return s;
}

/** Ends a client, ignoring errors (the connection may already be gone). */
export async function endQuietly(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  await client.end().catch(() => undefined);
}

/** The SQLSTATE and severity of a pg error (DatabaseError), or undefined fields for other errors. */
export function pgErrorInfo(err: unknown): { code: string | undefined; severity: string | undefined; message: string } {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; severity?: unknown };
    return {
      code: typeof e.code === 'string' ? e.code : undefined,
      severity: typeof e.severity === 'string' ? e.severity : undefined,
      message: e.message,
    };
  }
  return { code: undefined, severity: undefined, message: String(err) };
}

/** Resolves with the rejection reason of `p`; fails if `p` resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    const value = await p;
    throw new ExpectedRejection(`expected a rejection, got ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 200)}`);
  } catch (err) {
    if (err instanceof ExpectedRejection) throw err;
    return err;
  }
}

class ExpectedRejection extends Error {}

/**
 * Bounds a promise so a hang becomes a test failure naming what hung (rather than a vitest
 * timeout). The bound is generous: it is a hang detector, not a timing assertion.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true (or throws after `ms`). */
export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}
