// The local Topology against real servers: a primary answers pg_is_in_recovery() = false (writer),
// a streaming standby answers true (reader), a member nobody listens on is skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterAdminSecretContext } from '../shared/src/domain/tenant.ts';
import { exampleCluster } from '../shared/src/testing/examples.ts';
import { PgTopology } from '../shared/src/local/pg-topology.ts';
import { freePort, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { LocalSecretBox } from '../shared/src/local/secret-box.ts';

describe('local topology (pg_is_in_recovery)', () => {
  let primary: PostgresServer;
  let standby: PostgresServer;
  let deadPort: number;
  let dir: string;
  let box: LocalSecretBox;

  beforeAll(async () => {
    primary = await startPostgres();
    standby = await startPostgres({ standbyOf: { host: primary.host, port: primary.port } });
    deadPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-topology-'));
    box = await LocalSecretBox.fromKeyFile(join(dir, 'secret.key'));
  });
  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ep = (s: { host: string; port: number }) => ({ host: s.host, port: s.port });

  it('reports the primary as writer, the standby as reader, and skips an unreachable member', async () => {
    const cluster = exampleCluster({
      writer: { host: '127.0.0.1', port: deadPort },
      readers: [],
      members: [{ host: '127.0.0.1', port: deadPort }, ep(standby), ep(primary)],
      admin: { user: 'postgres', passwordCiphertext: await box.encrypt(primary.superuserPassword, clusterAdminSecretContext('main')) },
    });
    const observed = await new PgTopology({ secrets: box, timeoutMs: 2000 }).describe(cluster);
    expect(observed).toEqual({ writer: ep(primary), readers: [ep(standby)] });
  });

  it('reports no writer when no member answers', async () => {
    const cluster = exampleCluster({ members: [{ host: '127.0.0.1', port: deadPort }] });
    const observed = await new PgTopology({ credentials: async () => ({ user: 'postgres', password: 'x', database: 'postgres' }), timeoutMs: 2000 }).describe(cluster);
    expect(observed).toEqual({ writer: null, readers: [] });
  });

  it('skips a member that refuses the credentials', async () => {
    const cluster = exampleCluster({ members: [ep(primary)] });
    const observed = await new PgTopology({ credentials: async () => ({ user: 'postgres', password: 'wrong', database: 'postgres' }), timeoutMs: 2000 }).describe(cluster);
    expect(observed.writer).toBeNull();
  });
});
