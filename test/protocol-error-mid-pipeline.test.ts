// An error in the middle of a pipeline of named statements. A client that sends
// Parse/Bind/Execute/Sync three times in one write, the second failing (at Parse, Bind or Execute),
// must receive exactly what PostgreSQL itself sends for those bytes: the first request's results,
// the error and ReadyForQuery, then the third request's results (protocol docs, "Extended Query":
// after an error the backend discards messages until the next Sync). With one Sync at the end, the
// third request is skipped instead. Afterwards the statements that PostgreSQL kept are usable and
// the failed one behaves as PostgreSQL says (26000 when its Parse failed).
//
// Each case runs against PostgreSQL directly for the reference, then through the pooler with four
// clients at once on two server connections (transaction mode), every client using the same
// statement names for different texts, so a pooler that confuses names across clients or servers
// shows a difference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { bind, describe as describeMsg, endAll, execute, parse, ProtocolClient, query, summarizeAll, sync } from './helpers/raw-protocol.ts';
import { within } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const CLIENTS = 4;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'pipe-txn', pool: { mode: 'transaction', size: 2 } });
  tenants.session = await createTenant(pg, { id: 'pipe-session', pool: { mode: 'session', size: CLIENTS } });
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

type FailAt = 'parse' | 'bind' | 'execute';

/** The second statement of the pipeline, failing at the given step. */
function failing(at: FailAt): { sql: string; params: string[] } {
  switch (at) {
    case 'parse':
      return { sql: 'SELEC 2', params: [] }; // 42601 at Parse
    case 'bind':
      return { sql: 'SELECT $1::int AS b', params: [] }; // 08P01 at Bind: 1 parameter expected, 0 given
    case 'execute':
      return { sql: 'SELECT 1/0 AS b', params: [] }; // 22012 at Execute
  }
}

/** The pipeline of client `i`: three named statements, each P/B/D/E (+S when syncEach). */
function pipeline(i: number, at: FailAt, syncEach: boolean): Buffer {
  const second = failing(at);
  const stmts = [
    { name: 's1', sql: `SELECT 1 AS a, 'client-${i}'::text AS who`, params: [] as string[] },
    { name: 's2', ...second },
    { name: 's3', sql: `SELECT $1::int * 3 AS c, 'client-${i}'::text AS who`, params: [String(i)] },
  ];
  const parts: Buffer[] = [];
  for (const s of stmts) {
    parts.push(parse(s.name, s.sql), bind('', s.name, s.params), describeMsg('P', ''), execute());
    if (syncEach) parts.push(sync());
  }
  if (!syncEach) parts.push(sync());
  return Buffer.concat(parts);
}

/** After the pipeline: run each statement again by name only (Bind/Execute/Sync, no Parse). */
function reuse(i: number): Buffer {
  return Buffer.concat([
    bind('', 's1'),
    execute(),
    sync(),
    bind('', 's2'),
    execute(),
    sync(),
    bind('', 's3', [String(i + 10)]),
    execute(),
    sync(),
  ]);
}

/** Runs the case on one connection: the pipeline in one write, then the reuse requests. */
async function runCase(c: ProtocolClient, i: number, at: FailAt, syncEach: boolean, inTransaction: boolean): Promise<string[]> {
  const out: string[] = [];
  if (inTransaction) out.push(...summarizeAll(await c.request(query('BEGIN'))));
  out.push('--pipeline--', ...summarizeAll(await c.request(pipeline(i, at, syncEach))));
  if (inTransaction) out.push('--rollback--', ...summarizeAll(await c.request(query('ROLLBACK'))));
  out.push('--reuse--', ...summarizeAll(await c.request(reuse(i))));
  return out;
}

const cases: { at: FailAt; syncEach: boolean; inTransaction: boolean }[] = [];
for (const at of ['parse', 'bind', 'execute'] as const) {
  cases.push({ at, syncEach: true, inTransaction: false }, { at, syncEach: false, inTransaction: false });
}
cases.push({ at: 'execute', syncEach: true, inTransaction: true }, { at: 'parse', syncEach: false, inTransaction: true });

describe.each(MODES)('%s mode', (mode) => {
  it.each(cases)('error at $at (Sync after each: $syncEach, inside BEGIN: $inTransaction) gives exactly PostgreSQL’s replies', async ({ at, syncEach, inTransaction }) => {
    const t = tenants[mode];
    // Reference: the same bytes straight to PostgreSQL, one fresh session per client index.
    const expected: string[][] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const direct = await ProtocolClient.connect(destinationConn(t));
      try {
        expected.push(await runCase(direct, i, at, syncEach, inTransaction));
      } finally {
        await direct.end();
      }
    }
    // The test must provoke what it claims: the reference contains the error of the second statement.
    const wantCode = { parse: '42601', bind: '08P01', execute: '22012' }[at];
    expect(expected[0]!.some((s) => s.startsWith(`E:ERROR:${wantCode}:`)), expected[0]!.join('\n')).toBe(true);

    const clients: ProtocolClient[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) clients.push(await ProtocolClient.connect(poolerConn(pooler!, t)));
      const got = await within(
        Promise.all(clients.map((c, i) => runCase(c, i, at, syncEach, inTransaction))),
        30_000,
        'the pipelines through the pooler',
      );
      for (let i = 0; i < CLIENTS; i++) expect(got[i], `client ${i}`).toEqual(expected[i]);
    } finally {
      await endAll(clients);
    }
  });
});
