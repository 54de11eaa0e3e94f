// SQL PREPARE / EXECUTE from psql in transaction mode (docs/transaction-mode.md, "SQL PREPARE and
// EXECUTE"): a statement prepared in one transaction is executed in later ones, on whichever
// server connection each transaction gets (the pool is smaller than its clients, and every server
// connection is reset with DISCARD ALL between transactions, which drops the server's statement).
// psql's output is the same, line for line, as against PostgreSQL directly.
import { expect, it } from 'vitest';
import { connectPg, endQuietly, psql, type PgClient } from './helpers/clients.ts';
import { destinationConn } from './helpers/tenants.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-psql', { pool: { size: 2 } });

const ROUNDS = 20;

function script(): string {
  const lines = ['PREPARE q(int, text) AS SELECT $1 * 2 AS doubled, upper($2) AS shout;'];
  for (let i = 1; i <= ROUNDS; i++) {
    // The backend's pid, in the same transaction as the EXECUTE: which server connection ran it.
    lines.push(i % 3 === 0 ? `BEGIN; EXECUTE q(${i}, 'v${i}'); SELECT 'pid|' || pg_backend_pid(); COMMIT;` : `EXECUTE q(${i}, 'v${i}');`);
    lines.push(`SELECT 'pid|' || pg_backend_pid();`);
  }
  lines.push('EXPLAIN (COSTS OFF) EXECUTE q(100, $$x$$);');
  lines.push("BEGIN; CREATE TEMP TABLE made ON COMMIT DROP AS EXECUTE q(50, 'table'); SELECT * FROM made; COMMIT;");
  lines.push("   /* comment */ execute   Q (7, 'seven') ;");
  return lines.join('\n') + '\n';
}

/** Short transactions on the other server connection, so psql's land on both. */
async function busyWhile(until: Promise<unknown>): Promise<number> {
  const others: PgClient[] = [];
  let done = false;
  let n = 0;
  void until.finally(() => (done = true));
  try {
    for (let i = 0; i < 2; i++) others.push(await connectPg(rig.conn()));
    await Promise.all(
      others.map(async (c) => {
        while (!done) {
          await c.query('SELECT pg_sleep(0.002)');
          n++;
        }
      }),
    );
  } finally {
    for (const c of others) await endQuietly(c);
  }
  return n;
}

it('psql: PREPARE once, EXECUTE in later transactions on other server connections, output as on PostgreSQL', async () => {
  const direct = await psql(destinationConn(rig.tenant), script(), { stopOnError: false });
  expect(direct.stderr).toBe('');
  const run = psql(rig.conn(), script(), { stopOnError: false });
  await busyWhile(run);
  const through = await run;
  expect(through.stderr).toBe('');
  const strip = (out: string): string => out.split('\n').filter((l) => !l.startsWith('pid|')).join('\n');
  expect(strip(through.stdout)).toBe(strip(direct.stdout));
  expect(through.stdout).toContain('24|V12');
  expect(through.stdout).toContain('100|TABLE');
  // Which server connection each transaction got is the pool's choice (test
  // sql-prepare-node-postgres-other-connections forces it); every one was reset in between, so
  // each EXECUTE after the first transaction had its statement prepared again.
}, 120_000);
