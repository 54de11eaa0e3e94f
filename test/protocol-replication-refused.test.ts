// Replication connections (StartupMessage parameter `replication`, protocol docs "Streaming
// Replication Protocol") switch the server into walsender mode, whose streams use the COPY BOTH
// sub-protocol (CopyBothResponse 'W'). A pooler cannot share such a connection, and silently
// dropping the parameter gives a normal session that answers replication commands with a
// confusing syntax error. The pooler must refuse clearly: an ErrorResponse with SQLSTATE 0A000
// (feature_not_supported) mentioning replication — at start-up or at the first replication
// command — and never a CopyBothResponse.
// The destination role has the REPLICATION attribute, so PostgreSQL itself would accept these
// connections (checked first, directly).
import { describe, expect, it } from 'vitest';
import { errorFields, LoginRefused, ProtocolClient, query, type Msg } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn } from './helpers/tenants.ts';

const { tenants, pooled } = poolerPerMode('repl', { transaction: 1, session: 2 }, async (pg, tenants) => {
  for (const t of Object.values(tenants)) await pg.psql(`ALTER ROLE ${t.destination.user} REPLICATION`);
});

/** Logs in with `replication=<kind>` and runs IDENTIFY_SYSTEM; returns the refusal or the replies. */
async function tryReplication(c: { host: string; port: number; database: string; user: string; password: string }, kind: string): Promise<{ refused?: Record<string, string>; replies?: Msg[] }> {
  let client: ProtocolClient;
  try {
    client = await ProtocolClient.connect(c, { replication: kind });
  } catch (err) {
    if (err instanceof LoginRefused) return { refused: err.fields };
    throw err;
  }
  try {
    // Replication commands run through the simple Query protocol (protocol docs, "Streaming Replication Protocol").
    const replies = await client.request(query('IDENTIFY_SYSTEM'));
    const err = replies.find((m) => m.type === 'E');
    return err ? { refused: errorFields(err.body), replies } : { replies };
  } finally {
    client.destroy();
  }
}

describe.each(['database', 'true'])('replication=%s', (kind) => {
  it('PostgreSQL itself accepts it (the test’s premise)', async () => {
    const r = await tryReplication(destinationConn(tenants.session), kind);
    expect(r.refused).toBeUndefined();
    expect(r.replies?.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
  });

  it.each(MODES)('through the pooler (%s mode) it is refused with a clear 0A000', async (mode) => {
    const r = await tryReplication(pooled(tenants[mode]), kind);
    const why = JSON.stringify(r.refused ?? r.replies?.map((m) => m.type));
    expect(r.replies?.some((m) => m.type === 'W') ?? false, 'CopyBothResponse reached the client').toBe(false);
    expect(r.refused, `not refused: ${why}`).toBeDefined();
    expect(r.refused!.C, why).toBe('0A000');
    expect(r.refused!.M, why).toMatch(/replication/i);
  });
});
