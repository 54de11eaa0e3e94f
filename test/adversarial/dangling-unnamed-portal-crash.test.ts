// One tenant must not be able to crash the PostgreSQL server it shares with others. PostgreSQL 15
// leaves a dangling unnamed portal after a failed ROLLBACK TO SAVEPOINT; an Execute of '' that
// follows (found by the protocol fuzzer) touches its freed memory: the backend dies of SIGSEGV and
// the postmaster restarts every backend of the server, cutting off every tenant on it.
//
// Protocol docs, "Extended Query": a simple Query destroys the unnamed portal. So an Execute or
// Describe of '' with no Bind to '' since the last Query is answered as a correct server answers it
// (34000 portal "" does not exist, then skip to Sync) and never reaches the server as is
// (pooler/src/frontend/unnamed-portal.ts). Checked in transaction mode (fast path and tracked mode,
// after a named Parse) and session mode, with a bystander connection on the same server; and the
// usual unnamed-portal pipelines answer exactly what PostgreSQL answers directly.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { within } from '../helpers/clients.ts';
import { poolerPerMode, type Mode } from '../helpers/pooler-per-mode.ts';
import { bind, describe as describeMsg, execute, parse, ProtocolClient, query, summarizeAll, sync, type Msg } from '../helpers/raw-protocol.ts';
import { destinationConn } from '../helpers/tenants.ts';

const env = poolerPerMode('portal', { transaction: 2, session: 4 });

const CASES: { name: string; mode: Mode; tracked: boolean }[] = [
  { name: 'transaction mode (fast path)', mode: 'transaction', tracked: false },
  { name: 'transaction mode (tracked, after a named Parse)', mode: 'transaction', tracked: true },
  { name: 'session mode', mode: 'session', tracked: false },
];

const PORTAL_GONE = 'E:ERROR:34000:portal "" does not exist';

function serverLog(): string {
  return readFileSync(join(dirname(env.pg.dataDir), 'postgres.log'), 'utf8');
}

/** Runs each request (bytes up to their ReadyForQuery) in turn; the replies, one list per request. */
async function run(c: ProtocolClient, requests: Buffer[][]): Promise<string[][]> {
  const out: string[][] = [];
  for (const r of requests) out.push(summarizeAll(await within(c.request(...r), 30_000, 'reply')));
  return out;
}

/** Sends `bytes` one byte per write: the headers and bodies of the messages split across reads. */
async function sendByteByByte(c: ProtocolClient, bytes: Buffer): Promise<Msg[]> {
  for (const b of bytes) await c.send(Buffer.from([b]));
  return within(c.untilReady(1), 30_000, 'reply');
}

async function withClient<T>(mode: Mode, tracked: boolean, fn: (c: ProtocolClient) => Promise<T>): Promise<T> {
  const c = await ProtocolClient.connect(env.pooled(env.tenants[mode]));
  try {
    if (tracked) expect(summarizeAll(await c.request(parse('n1', 'SELECT 1'), bind('', 'n1'), execute(), sync()))).toContain('C:SELECT 1');
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('Execute/Describe of a dangling unnamed portal never reaches the server', () => {
  for (const { name, mode, tracked } of CASES) {
    it(`${name}: 34000, the transaction goes on, no backend crashes`, async () => {
      const logBefore = serverLog().length;
      // Another tenant's connection on the same server: a crash would end it (57P01 / 08006).
      const bystander = await ProtocolClient.connect(destinationConn(env.tenants.session));
      try {
        expect(await bystander.simple('BEGIN')).toEqual([]);
        await withClient(mode, tracked, async (c) => {
          const got = await run(c, [
            [query('BEGIN')],
            [query('ROLLBACK TO SAVEPOINT nope')],
            [query("SELECT pg_notify('c','y')")],
            [execute('', 0), sync()],
            [describeMsg('P', ''), sync()],
            [query('ROLLBACK')],
            [query('SELECT 42')],
          ]);
          expect(got[1]!.at(-1)).toBe('Z:E');
          expect(got[3]).toEqual([PORTAL_GONE, 'Z:E']);
          expect(got[4]).toEqual([PORTAL_GONE, 'Z:E']);
          expect(got[5]).toEqual(['C:ROLLBACK', 'Z:I']);
          expect(got[6]).toContain('D:["42"]');
          // Again with every message split across reads (the fast path's carry and tail).
          await run(c, [[query('BEGIN')], [query('ROLLBACK TO SAVEPOINT nope')], [query('SELECT 1')]]);
          expect(summarizeAll(await sendByteByByte(c, Buffer.concat([execute('', 0), sync()])))).toEqual([PORTAL_GONE, 'Z:E']);
          expect(await run(c, [[query('ROLLBACK')]])).toEqual([['C:ROLLBACK', 'Z:I']]);
          // A failed Bind to '' leaves the dangling portal in place: pipelined in one write, the
          // Execute after its Sync is sent before the Bind's error is known.
          const oneWrite = Buffer.concat([
            query('BEGIN'),
            query('ROLLBACK TO SAVEPOINT nope'),
            query("SELECT pg_notify('c','y')"),
            bind('', ''),
            sync(),
            execute('', 0),
            sync(),
            describeMsg('P', ''),
            sync(),
            query('ROLLBACK'),
          ]);
          expect(summarizeAll(await within(c.request(oneWrite), 30_000, 'reply')).slice(-8)).toEqual([
            'E:ERROR:26000:unnamed prepared statement does not exist',
            'Z:E',
            PORTAL_GONE,
            'Z:E',
            PORTAL_GONE,
            'Z:E',
            'C:ROLLBACK',
            'Z:I',
          ]);
          // The same with the extended protocol only.
          const got2 = await run(c, [
            [query('BEGIN')],
            [parse('', 'ROLLBACK TO SAVEPOINT nope'), bind('', ''), execute('', 0), sync()],
            [parse('', 'SELECT 1'), sync()],
            [execute('', 0), sync()],
            [query('ROLLBACK')],
          ]);
          expect(got2.slice(1, 4).map((r) => r.at(-1))).toEqual(['Z:E', 'Z:E', 'Z:E']);
          expect(got2[3]![0]).toMatch(/^E:ERROR:(34000|55000|25P02):/);
          expect(got2[4]).toEqual(['C:ROLLBACK', 'Z:I']);
        });
        expect(await bystander.simple('SELECT 7')).toEqual([['7']]);
        expect(await bystander.simple('COMMIT')).toEqual([]);
      } finally {
        await bystander.end().catch(() => undefined);
      }
      expect(serverLog().slice(logBefore)).not.toMatch(/terminated by signal|server process .* was terminated/);
    }, 120_000);
  }
});

/** Unnamed-portal request sequences whose replies through the pooler must equal PostgreSQL's own. */
const SEQUENCES: { name: string; requests: Buffer[][] }[] = [
  { name: 'Execute after a Query, outside a transaction', requests: [[query('SELECT 1')], [execute('', 0), sync()], [describeMsg('P', ''), sync()]] },
  {
    name: 'Execute/Describe after a Query in a failed transaction',
    requests: [[query('BEGIN')], [query('SELECT 1/0')], [query('SELECT 1')], [execute('', 0), sync()], [describeMsg('P', ''), sync()], [query('ROLLBACK')]],
  },
  {
    name: 'Parse/Bind/Describe portal/Execute with maxRows, then again',
    requests: [[parse('', 'SELECT generate_series(1, 3)'), bind('', ''), describeMsg('P', ''), execute('', 2), execute('', 0), sync()]],
  },
  {
    name: 'portal kept across Sync inside a transaction block',
    requests: [
      [query('BEGIN')],
      [parse('', 'SELECT generate_series(1, 3)'), bind('', ''), sync()],
      [describeMsg('P', ''), execute('', 1), sync()],
      [execute('', 0), sync()],
      [query('COMMIT')],
    ],
  },
  {
    name: 'a Query between Bind and Execute destroys the portal',
    requests: [[query('BEGIN')], [parse('', 'SELECT 5'), bind('', ''), sync()], [query('SELECT 6')], [execute('', 0), sync()], [query('ROLLBACK')]],
  },
  { name: 'Execute of a named portal that does not exist', requests: [[execute('nope', 0), sync()], [describeMsg('P', 'nope'), sync()]] },
];

describe('unnamed-portal pipelines answer as PostgreSQL does', () => {
  for (const { name, requests } of SEQUENCES) {
    it(name, async () => {
      const direct = await ProtocolClient.connect(destinationConn(env.tenants.session));
      let expected: string[][];
      try {
        expected = await run(direct, requests);
      } finally {
        await direct.end().catch(() => undefined);
      }
      for (const { mode, tracked } of CASES) {
        const got = await withClient(mode, tracked, (c) => run(c, requests));
        expect({ mode, tracked, got }).toEqual({ mode, tracked, got: expected });
      }
    }, 120_000);
  }
});
