// PostgreSQL refuses to change temp_buffers in a backend that has ever used a temporary table
// (check_temp_buffers: the local buffers stay for the backend's life, DISCARD ALL does not undo
// that). On shared server connections one client's temporary table must not end another client
// whose temp_buffers is replayed there, nor fail a login's `-c temp_buffers=...` (which PostgreSQL
// always takes in a fresh session) — a refusal the start-up check remembered for every later
// login with the same options. temp_buffers is not carried between transactions (docs).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, type PgClient } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { destinationConn } from '../helpers/tenants.ts';

// One server connection: every client's transactions share one backend.
const rig = sessionRig('temp-buffers', { pool: { size: 1 } });

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => pgErrorInfo(e).message,
  );
}

describe("one client's temporary table does not refuse another client's temp_buffers", () => {
  it('a client that SET temp_buffers is not ended when its connection was used for a temporary table', async () => {
    const b = await connectPg(rig.conn());
    const a = await connectPg(rig.conn());
    try {
      // Before any temporary table on the backend: PostgreSQL takes it.
      await b.query("SET temp_buffers = '16MB'");
      await a.query('CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (1)');
      for (let i = 0; i < 3; i++) expect(await outcome(b.query('SELECT 1'))).toBe('ok');
    } finally {
      await endQuietly(a);
      await endQuietly(b);
    }
  });

  it('a login with -c temp_buffers is not refused after another client used a temporary table', async () => {
    // PostgreSQL itself takes it at start-up.
    await endQuietly(await connectPg(destinationConn(rig.tenant), { options: '-c temp_buffers=16MB' }));
    const a = await connectPg(rig.conn());
    let b: PgClient | undefined;
    try {
      await a.query('CREATE TEMP TABLE t2 (x int); INSERT INTO t2 VALUES (1)');
      expect(await outcome(connectPg(rig.conn(), { options: '-c temp_buffers=16MB' }).then((c) => (b = c)))).toBe('ok');
      for (let i = 0; i < 3; i++) expect(await outcome(b!.query('SELECT 1'))).toBe('ok');
    } finally {
      await endQuietly(a);
      await endQuietly(b);
    }
  });
});
