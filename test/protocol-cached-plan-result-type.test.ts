// "cached plan must not change result type": a named statement `SELECT * FROM t` is prepared and
// run, then `ALTER TABLE t ADD COLUMN` changes what `*` means. PostgreSQL refuses every later
// execution of that statement with 0A000 (the client must re-prepare it). The pooler's defined
// behaviour in transaction mode, where the statement is prepared on several server connections
// under the pooler's own names: at most ONE 0A000 for that statement, then it is re-prepared and
// the next execution succeeds with the new columns — on every server connection.
// In session mode the pooler passes everything through, so the client sees PostgreSQL's behaviour
// (the test checks that its sequence provokes the error at all).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, type PgClient } from './helpers/clients.ts';
import { bind, describe as describeMsg, execute, parse, ProtocolClient, runScenario, sync, type Step } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn, type TestTenant } from './helpers/tenants.ts';

const { tenants, pooled } = poolerPerMode('plan', { transaction: 2, session: 4 });

/** Runs SQL as the tenant's destination role directly on PostgreSQL. */
async function direct(t: TestTenant, sql: string): Promise<void> {
  const c = await connectPg(destinationConn(t));
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Splits a transcript into its steps: label → summarized replies. */
function stepsOf(transcript: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] = [];
  for (const line of transcript) {
    if (line.startsWith('## ')) out.set(line.slice(3), (cur = []));
    else cur.push(line);
  }
  return out;
}

const runStar = Buffer.concat([bind('', 'star'), execute(), sync()]);

describe.each(MODES)('%s mode', (mode) => {
  it('raw protocol: after ALTER TABLE ADD COLUMN, at most one 0A000, then the new columns', async () => {
    const t = tenants[mode];
    const table = `plan_raw_${mode}`;
    await direct(t, `CREATE TABLE ${table} (a int); INSERT INTO ${table} VALUES (1)`);
    const after = ['after 1', 'after 2', 'after 3', 'after 4', 'after 5'];
    const script: Step[] = [
      { label: 'prepare', bytes: Buffer.concat([parse('star', `SELECT * FROM ${table}`), sync()]) },
      { label: 'before 1', bytes: runStar, move: true },
      // Transaction mode: now prepared on both server connections.
      { label: 'before 2', bytes: runStar, move: true },
      ...after.map((label, i): Step => ({
        label,
        bytes: runStar,
        move: true,
        ...(i === 0 ? { before: () => direct(t, `ALTER TABLE ${table} ADD COLUMN b int DEFAULT 7`) } : {}),
      })),
      { label: 'describe', bytes: Buffer.concat([describeMsg('S', 'star'), sync()]), move: true },
    ];
    const client = await ProtocolClient.connect(pooled(t));
    try {
      const holder = mode === 'transaction' ? () => ProtocolClient.connect(pooled(t)) : undefined;
      const r = await runScenario([client], [script], holder);
      const steps = stepsOf(r.transcripts[0]!);
      const why = r.transcripts[0]!.join('\n');
      expect(steps.get('before 1'), why).toContain('D:["1"]');
      expect(steps.get('before 2'), why).toContain('D:["1"]');
      const outcomes = after.map((l) => steps.get(l) ?? []);
      const errors = outcomes.flat().filter((s) => s.startsWith('E:'));
      if (mode === 'session') {
        // PostgreSQL's own behaviour, passed through: the first execution after the ALTER fails.
        expect(outcomes[0]!.find((s) => s.startsWith('E:')), why).toBe('E:ERROR:0A000:cached plan must not change result type');
        return;
      }
      // Only the one defined error, never another kind.
      for (const e of errors) expect(e, why).toBe('E:ERROR:0A000:cached plan must not change result type');
      expect(errors.length, `more than one 0A000 for the statement:\n${why}`).toBeLessThanOrEqual(1);
      // Every execution that did not fail sees the new shape, on both server connections.
      for (const [i, o] of outcomes.entries()) {
        if (!o.some((s) => s.startsWith('E:'))) expect(o, `${after[i]}:\n${why}`).toContain('D:["1","7"]');
      }
      expect(outcomes.at(-1), why).toContain('D:["1","7"]');
      expect(steps.get('describe'), why).toContain('T:a/23,b/23');
      for (const m of r.moves[0]!) expect(m.to, `step "${m.label}" ran on the same server`).not.toBe(m.from);
    } finally {
      await client.end();
    }
  });

  it('node-postgres named query: after ALTER TABLE ADD COLUMN, at most one 0A000, then the new columns', async () => {
    const t = tenants[mode];
    const table = `plan_pg_${mode}`;
    await direct(t, `CREATE TABLE ${table} (a int); INSERT INTO ${table} VALUES (1)`);
    const clients: PgClient[] = [];
    try {
      // Two clients with the same statement (same name and text): in transaction mode they share
      // the pooler's server-side statement on both server connections.
      for (let i = 0; i < 2; i++) clients.push(await connectPg(pooled(t)));
      const q = { name: 'star', text: `SELECT * FROM ${table}` };
      for (const c of clients) expect((await c.query(q)).rows).toEqual([{ a: 1 }]);
      await direct(t, `ALTER TABLE ${table} ADD COLUMN b int DEFAULT 7`);
      const outcomes: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (const [i, c] of clients.entries()) {
          try {
            const r = await c.query(q);
            outcomes.push(`client ${i}: ${JSON.stringify(r.rows)}`);
          } catch (err) {
            const e = pgErrorInfo(err);
            outcomes.push(`client ${i}: error ${e.code} ${e.message}`);
          }
        }
      }
      const why = outcomes.join('\n');
      const errors = outcomes.filter((o) => o.includes('error'));
      if (mode === 'session') {
        expect(errors.length, why).toBeGreaterThan(0);
        expect(errors[0], why).toContain('0A000 cached plan must not change result type');
        return;
      }
      for (const e of errors) expect(e, why).toContain('0A000 cached plan must not change result type');
      // One statement (same text) shared by both clients on both servers: one error in total.
      expect(errors.length, `more than one 0A000 for the statement:\n${why}`).toBeLessThanOrEqual(1);
      expect(outcomes.slice(-2), why).toEqual(['client 0: [{"a":1,"b":7}]', 'client 1: [{"a":1,"b":7}]']);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
