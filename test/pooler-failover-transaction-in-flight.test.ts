// A transaction in flight when the primary stops (docs/architecture.md, "Reload semantics": only
// transactions in flight at the moment of the switch may fail; no client is disconnected). A
// client holds an open transaction on the primary when it stops; after the standby is promoted
// and pushed, that transaction has failed but the same client connection works on the new primary,
// and the write it had not committed is nowhere.
import { describe, expect, it } from 'vitest';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, within, type PgClient } from './helpers/clients.ts';
import { ep, poolerSettings, publishWriter, storedWrites, useFailoverRig } from './helpers/failover-rig.ts';

const env = useFailoverRig('primary-only');
let client: PgClient | undefined;
env.atEnd(() => endQuietly(client));

describe('a transaction in flight at the switch', () => {
  it('fails, and the same client connection goes on writing on the new primary', async () => {
    const r = env.rig;
    client = await connectPg(poolerSettings(env.pooler, r));
    await client.query('INSERT INTO writes (writer, seq) VALUES (9, 0)');
    await client.query('BEGIN');
    await client.query('INSERT INTO writes (writer, seq) VALUES (9, 1)');

    await r.primary.stop('fast');
    await r.standby.promote();
    expect((await publishWriter(r, ep(r.standby), [])).signalled).toBe(true);

    // The open transaction died with the old primary: its next statement fails.
    const err = pgErrorInfo(await within(rejectionOf(client.query('INSERT INTO writes (writer, seq) VALUES (9, 2)')), 30_000, 'the in-flight transaction'));
    const why = `error: ${JSON.stringify(err)}; background: ${backgroundErrorsOf(client).map((e) => e.message)}\n${env.pooler.output().slice(-3000)}`;
    expect(err.severity, why).not.toBe('FATAL');
    await client.query('ROLLBACK').catch(() => undefined);
    // Same connection, new primary.
    await within(client.query('INSERT INTO writes (writer, seq) VALUES (9, 3)'), 30_000, 'a write after the switch');
    const port = await client.query<{ port: number }>('SELECT inet_server_port() AS port');
    expect(port.rows[0]?.port).toBe(r.standby.port);
    expect(backgroundErrorsOf(client), why).toEqual([]);
    expect([...(await storedWrites(r.standby, r.destination.database))].sort()).toEqual(['9:0', '9:3']);
  });
});
