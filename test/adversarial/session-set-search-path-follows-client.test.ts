// Prisma-style clients in transaction mode (issue 14 item 1): each client runs `SET search_path`
// once on connect, then many transactions, with fewer server connections than clients. Every
// transaction must see the client's own search_path — not the tenant's default schema (a client's
// SET wins over it), not another client's. node-postgres and psycopg.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, type PgClient } from '../helpers/clients.ts';
import { missingPythonModules, runPythonWorkload } from '../helpers/python.ts';
import { createMarkedSchemas, sessionRig } from '../helpers/session-rig.ts';

const SCHEMAS = ['s_one', 's_two', 's_three', 's_four', 's_five', 's_six'];
const ROUNDS = 20;

const rig = sessionRig('sp-follows', {
  schema: 'tenant_space',
  pool: { size: 2 },
  prepare: (pg, t) => createMarkedSchemas(pg, t, SCHEMAS),
});

/**
 * Every schema's client connects, SETs its search_path, and runs `rounds` (what it saw each time);
 * each must have seen only its own schema.
 */
async function expectEachClientSeesItsSchema(rounds: (c: PgClient) => Promise<string[]>): Promise<void> {
  const clients: PgClient[] = [];
  try {
    const seen = await Promise.all(
      SCHEMAS.map(async (schema) => {
        const c = await connectPg(rig.conn());
        clients.push(c);
        await c.query(`SET search_path TO "${schema}", public`);
        return [schema, await rounds(c)] as const;
      }),
    );
    for (const [schema, got] of seen) expect(got, schema).toEqual(Array(ROUNDS).fill(schema));
  } finally {
    await Promise.all(clients.map((c) => endQuietly(c)));
  }
}

describe('SET search_path on connect follows the client across transactions', () => {
  it('node-postgres: six clients, two server connections, each sees its own schema every time', async () => {
    await expectEachClientSeesItsSchema(async (c) => {
      const got: string[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        if (i % 3 === 0) got.push((await c.query<{ v: string }>('SELECT v FROM marker')).rows[0]!.v);
        else if (i % 3 === 1) got.push((await c.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s);
        else {
          // Extended protocol and a transaction block too.
          await c.query('BEGIN');
          got.push((await c.query<{ v: string }>({ text: 'SELECT v FROM marker WHERE $1::int = 1', values: [1] })).rows[0]!.v);
          await c.query('COMMIT');
        }
      }
      return got;
    });
  });

  it('named prepared statements (as Prisma uses them) follow each client’s search_path', async () => {
    await expectEachClientSeesItsSchema(async (c) => {
      const got: string[] = [];
      // The same statement text for every client: the pooler shares it across the tenant.
      for (let i = 0; i < ROUNDS; i++) got.push((await c.query<{ v: string }>({ name: 'marker_v', text: 'SELECT v FROM marker' })).rows[0]!.v);
      return got;
    });
  });

  it('a client that sets nothing keeps the tenant schema meanwhile', async () => {
    const setter = await connectPg(rig.conn());
    const plain = await connectPg(rig.conn());
    try {
      await setter.query('SET search_path TO s_one');
      for (let i = 0; i < 10; i++) {
        expect((await setter.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s).toBe('s_one');
        expect((await plain.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s).toBe('tenant_space');
      }
      // RESET takes it back to the tenant's schema (the server connection's own default).
      await setter.query('RESET search_path');
      expect((await setter.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s).toBe('tenant_space');
    } finally {
      await Promise.all([endQuietly(setter), endQuietly(plain)]);
    }
  });

  it('psycopg: six threads, two server connections, each sees its own schema every time', async () => {
    const missing = await missingPythonModules(['psycopg']);
    expect(missing, missing).toBeUndefined();
    const r = await runPythonWorkload<{ seen: Record<string, string[]>; errors: string[] }>('search_path_on_connect.py', rig.conn(), { schemas: SCHEMAS, rounds: ROUNDS });
    expect(r.code, r.stderr).toBe(0);
    expect(r.result?.errors).toEqual([]);
    for (const schema of SCHEMAS) expect(r.result?.seen[schema], schema).toEqual(Array(ROUNDS).fill(schema));
  });
});
