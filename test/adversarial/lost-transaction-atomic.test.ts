// A transaction-mode client whose server connection dies inside a transaction (pg_terminate_backend,
// as a failover or an operator would) is in a lost, failed block (pooler/src/frontend/lost-transaction.ts).
// Whatever it sends next, the outcome must be atomic: nothing of the block commits, and statements
// after it never run in autocommit as if the block had ended. Only a bare ROLLBACK/ABORT/COMMIT/END
// ends it (COMMIT answers ROLLBACK, as PostgreSQL does in a failed block); ROLLBACK TO SAVEPOINT,
// ROLLBACK PREPARED and the AND CHAIN forms leave the client in a failed block. Real PostgreSQL,
// node-postgres and raw protocol (simple and extended query).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until } from '../helpers/clients.ts';
import {
  ProtocolClient,
  bind,
  describe as describeMsg,
  endAll,
  errorCodes,
  execute,
  parse,
  query,
  summarizeAll,
  sync,
  type Msg,
} from '../helpers/raw-protocol.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, superuserConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

const WAIT_MS = 20_000;

let pg: PostgresServer | undefined;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'lost-atomic', pool: { mode: 'transaction', size: 2 } });
  const admin = await connectPg(destinationConn(tenant));
  await admin.query('CREATE TABLE events (who text NOT NULL, n int NOT NULL)');
  await admin.end();
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** Rows of `who` as PostgreSQL has them (bypassing the pooler). */
async function committed(who: string): Promise<number[]> {
  const c = await connectPg(destinationConn(tenant));
  try {
    const r = await c.query<{ n: number }>('SELECT n FROM events WHERE who = $1 ORDER BY n', [who]);
    return r.rows.map((x) => x.n);
  } finally {
    await endQuietly(c);
  }
}

/** Terminates the backend `pid` and waits until PostgreSQL no longer lists it. */
async function terminate(pid: number): Promise<void> {
  const su = await connectPg(superuserConn(pg!));
  try {
    expect((await su.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid])).rows).toEqual([{ ok: true }]);
    await until(async () => (await su.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, WAIT_MS, `backend ${pid} gone`);
  } finally {
    await endQuietly(su);
  }
}

const show = (msgs: Msg[]): string => JSON.stringify(summarizeAll(msgs));

/**
 * A raw client inside a transaction that inserted rows for `who` (before and after a savepoint s),
 * whose server connection is then killed. The first request after the kill is answered with an
 * error whether or not the pooler has seen the hang-up yet; it is read here, so the steps of each
 * test meet the lost block in one known state.
 */
async function lostBlock(who: string, clients: ProtocolClient[], before: Buffer[] = []): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(poolerConn(pooler!, tenant));
  clients.push(c);
  if (before.length > 0) expect(errorCodes(await c.request(...before))).toEqual([]);
  await c.simple('BEGIN');
  await c.simple(`INSERT INTO events VALUES ('${who}', 1)`);
  await c.simple('SAVEPOINT s');
  await c.simple(`INSERT INTO events VALUES ('${who}', 2)`);
  const pid = Number((await c.simple('SELECT pg_backend_pid()'))[0]![0]);
  await terminate(pid);
  const first = await c.request(query('SELECT 1'));
  expect(errorCodes(first).length, show(first)).toBe(1);
  expect(first.at(-1)?.type).toBe('Z');
  expect(summarizeAll(first).at(-1)).toBe('Z:E');
  return c;
}

/** The block stays failed: a later INSERT gets 25P02 and nothing is written. */
async function expectStillFailed(c: ProtocolClient, who: string): Promise<void> {
  const ins = await c.request(query(`INSERT INTO events VALUES ('${who}', 3)`));
  expect(summarizeAll(ins).map((s) => s.split(':').slice(0, 3).join(':')), show(ins)).toEqual(['E:ERROR:25P02', 'Z:E']);
  const ext = await c.request(parse('', `INSERT INTO events VALUES ('${who}', 4)`), bind('', ''), execute(), sync());
  expect(summarizeAll(ext).map((s) => s.split(':').slice(0, 3).join(':')), show(ext)).toEqual(['E:ERROR:25P02', 'Z:E']);
}

describe('a lost transaction block is all or nothing', () => {
  it('node-postgres: ROLLBACK TO SAVEPOINT does not end the block; later INSERTs fail; COMMIT answers ROLLBACK; nothing committed', async () => {
    const c = await connectPg(poolerConn(pooler!, tenant));
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO events VALUES ($1, 1)', ['pg-driver']);
      await c.query('SAVEPOINT s');
      await c.query('INSERT INTO events VALUES ($1, 2)', ['pg-driver']);
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await terminate(pid);
      await rejectionOf(c.query('ROLLBACK TO SAVEPOINT s'));
      expect(pgErrorInfo(await rejectionOf(c.query('INSERT INTO events VALUES ($1, 3)', ['pg-driver']))).code).toBe('25P02');
      expect(pgErrorInfo(await rejectionOf(c.query("INSERT INTO events VALUES ('pg-driver', 4)"))).code).toBe('25P02');
      expect((await c.query('COMMIT')).command).toBe('ROLLBACK');
      expect(await committed('pg-driver')).toEqual([]);
      // The session goes on, in autocommit, on another server connection.
      await c.query('INSERT INTO events VALUES ($1, 5)', ['pg-driver']);
      expect(await committed('pg-driver')).toEqual([5]);
    } finally {
      await endQuietly(c);
    }
  });

  it.each([
    ['ROLLBACK TO SAVEPOINT s', 'rb-to'],
    ['rollback work to s', 'rb-to-short'],
    ["ROLLBACK PREPARED 'x'", 'rb-prepared'],
    ["COMMIT PREPARED 'x'", 'commit-prepared'],
    ["PREPARE TRANSACTION 'x'", 'prepare-tx'],
    ['RELEASE SAVEPOINT s', 'release'],
    ['SELECT 1; ROLLBACK', 'select-then-rollback'],
    ['ROLLBACK x', 'rollback-junk'],
    ['"rollback"', 'quoted'],
  ])('%s: an error, the block stays failed, nothing committed', async (sql, who) => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock(who, clients);
      const r = await c.request(query(sql));
      expect(errorCodes(r), show(r)).toEqual(['25P02']);
      expect(summarizeAll(r).at(-1)).toBe('Z:E');
      await expectStillFailed(c, who);
      expect(summarizeAll(await c.request(query('COMMIT')))).toEqual(['C:ROLLBACK', 'Z:I']);
      expect(await committed(who)).toEqual([]);
    } finally {
      await endAll(clients);
    }
  });

  it.each([
    ['ROLLBACK AND CHAIN', 'rb-chain'],
    ['COMMIT WORK AND CHAIN', 'commit-chain'],
    ['abort transaction and chain;', 'abort-chain'],
  ])('%s: the block ends (ROLLBACK) and the chained one is failed too; nothing committed', async (sql, who) => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock(who, clients);
      const r = await c.request(query(sql));
      expect(summarizeAll(r).map((s) => s.split(':').slice(0, 3).join(':')), show(r)).toEqual(['C:ROLLBACK', 'E:ERROR:25P02', 'Z:E']);
      await expectStillFailed(c, who);
      expect(summarizeAll(await c.request(query('END')))).toEqual(['C:ROLLBACK', 'Z:I']);
      expect(await committed(who)).toEqual([]);
    } finally {
      await endAll(clients);
    }
  });

  it.each([
    ['ROLLBACK', 'rb'],
    ['commit', 'commit'],
    ['  End  TRANSACTION ;', 'end'],
    ['ABORT WORK AND NO CHAIN', 'abort-no-chain'],
    ['/* a /* nested */ comment */ Rollback -- and a line comment\n\tWORK', 'comments'],
    [';; ROLLBACK ;; -- nothing else\n', 'empty-statements'],
  ])('%s ends the block with ROLLBACK; nothing committed; the session goes on', async (sql, who) => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock(who, clients);
      expect(summarizeAll(await c.request(query(sql)))).toEqual(['C:ROLLBACK', 'Z:I']);
      expect(await committed(who)).toEqual([]);
      expect(summarizeAll(await c.request(query(`INSERT INTO events VALUES ('${who}', 9)`)))).toEqual(['C:INSERT 0 1', 'Z:I']);
      expect(await committed(who)).toEqual([9]);
    } finally {
      await endAll(clients);
    }
  });

  it('ROLLBACK followed by more statements in one Query: the block ends and the rest runs, as in PostgreSQL', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock('multi', clients);
      const r = await c.request(query("ROLLBACK; INSERT INTO events VALUES ('multi', 7); SELECT count(*) FROM events WHERE who = 'multi'"));
      expect(summarizeAll(r)).toEqual(['C:ROLLBACK', 'C:INSERT 0 1', 'T:count/20', 'D:["1"]', 'C:SELECT 1', 'Z:I']);
      expect(await committed('multi')).toEqual([7]);
    } finally {
      await endAll(clients);
    }
  });

  it('extended query: ROLLBACK TO SAVEPOINT fails and the block stays failed; Parse/Bind/Describe/Execute ROLLBACK ends it', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock('ext', clients);
      const r = await c.request(parse('', 'ROLLBACK TO SAVEPOINT s'), bind('', ''), execute(), sync());
      expect(errorCodes(r), show(r)).toEqual(['25P02']);
      expect(summarizeAll(r).at(-1)).toBe('Z:E');
      await expectStillFailed(c, 'ext');
      const chain = await c.request(parse('', 'COMMIT AND CHAIN'), bind('', ''), execute(), sync());
      expect(summarizeAll(chain).map((s) => s.split(':').slice(0, 3).join(':')), show(chain)).toEqual(['1', '2', 'C:ROLLBACK', 'E:ERROR:25P02', 'Z:E']);
      await expectStillFailed(c, 'ext');
      // What PostgreSQL answers for the same bytes in a failed block.
      const end = await c.request(parse('', 'ROLLBACK'), bind('', ''), describeMsg('P', ''), execute(), sync());
      expect(summarizeAll(end)).toEqual(['1', '2', 'n', 'C:ROLLBACK', 'Z:I']);
      expect(await committed('ext')).toEqual([]);
    } finally {
      await endAll(clients);
    }
  });

  it('extended query: a pipeline that ends the block and goes on runs the rest in a new (implicit) transaction', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock('ext-more', clients);
      const more = await c.request(
        parse('', 'ROLLBACK'),
        describeMsg('S', ''),
        bind('', ''),
        execute(),
        parse('', "INSERT INTO events VALUES ('ext-more', 8)"),
        bind('', ''),
        execute(),
        sync(),
      );
      expect(summarizeAll(more)).toEqual(['1', 't:', 'n', '2', 'C:ROLLBACK', '1', '2', 'C:INSERT 0 1', 'Z:I']);
      expect(await committed('ext-more')).toEqual([8]);
    } finally {
      await endAll(clients);
    }
  });

  it('extended query: Execute of ROLLBACK ends the block even when its Sync comes in a later packet', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock('ext-split', clients);
      await c.send(parse('', 'ROLLBACK'), bind('', ''), execute());
      expect(summarizeAll(await c.untilType('C'))).toEqual(['1', '2', 'C:ROLLBACK']);
      expect(summarizeAll(await c.request(sync()))).toEqual(['Z:I']);
      expect(await committed('ext-split')).toEqual([]);
      expect(summarizeAll(await c.request(query(`INSERT INTO events VALUES ('ext-split', 5)`)))).toEqual(['C:INSERT 0 1', 'Z:I']);
      expect(await committed('ext-split')).toEqual([5]);
    } finally {
      await endAll(clients);
    }
  });

  it('extended query: a named ROLLBACK statement prepared before the loss ends the block (tracked mode)', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const c = await lostBlock('named', clients, [parse('end_tx', 'ROLLBACK'), sync()]);
      await expectStillFailed(c, 'named');
      expect(summarizeAll(await c.request(bind('', 'end_tx'), execute(), sync()))).toEqual(['2', 'C:ROLLBACK', 'Z:I']);
      expect(await committed('named')).toEqual([]);
      expect(summarizeAll(await c.request(query(`INSERT INTO events VALUES ('named', 6)`)))).toEqual(['C:INSERT 0 1', 'Z:I']);
      expect(await committed('named')).toEqual([6]);
    } finally {
      await endAll(clients);
    }
  });
});
