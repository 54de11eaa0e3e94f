// SQL PREPARE / EXECUTE from node-postgres in transaction mode: a statement prepared in one
// transaction is executed in later ones, each on the server connection the pool gives it. Here
// every EXECUTE is forced onto another server connection than the last one (of a pool of two):
// other clients hold the connection the last EXECUTE ran on, inside a transaction, while it runs.
// The statement reports its backend's pid: the test sees where it ran.
import { expect, it } from 'vitest';
import { connectPg, endQuietly, type PgClient } from './helpers/clients.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-pg', { pool: { size: 2 } });

/**
 * Holds the server connection of backend `pid` in an open transaction: opens transactions on the
 * two holders until one has it (at most both connections of the pool), ends the others'.
 */
async function holdBackend(holders: PgClient[], pid: number): Promise<PgClient> {
  const others: PgClient[] = [];
  try {
    for (const h of holders) {
      await h.query('BEGIN');
      const r = await h.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (r.rows[0]!.pid === pid) return h;
      others.push(h);
    }
    throw new Error(`backend ${pid} is not in the pool`);
  } finally {
    for (const h of others) await h.query('COMMIT');
  }
}

it('node-postgres: PREPARE once, each EXECUTE on the other server connection, in and out of transaction blocks', async () => {
  const subject = await connectPg(rig.conn());
  const holders = [await connectPg(rig.conn()), await connectPg(rig.conn())];
  try {
    await subject.query('PREPARE twice(int) AS SELECT $1 * 2 AS v, pg_backend_pid() AS pid');
    let last = (await subject.query<{ v: number; pid: number }>('EXECUTE twice(0)')).rows[0]!.pid;
    const pids = new Set<number>([last]);
    for (let round = 1; round <= 6; round++) {
      const holder = await holdBackend(holders, last);
      const inBlock = round % 3 === 0;
      if (inBlock) await subject.query('BEGIN');
      const r = await subject.query<{ v: number; pid: number }>(`EXECUTE twice(${round})`);
      if (inBlock) await subject.query('COMMIT');
      await holder.query('COMMIT');
      expect(r.rows.map((x) => x.v)).toEqual([round * 2]);
      expect(r.rows[0]!.pid, `round ${round}: ran on another server connection`).not.toBe(last);
      last = r.rows[0]!.pid;
      pids.add(last);
    }
    expect(pids.size).toBe(2);
  } finally {
    await endQuietly(subject);
    for (const h of holders) await endQuietly(h);
  }
}, 60_000);
