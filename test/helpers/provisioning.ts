// The provisioning tests' common step: register a PostgreSQL server as a static cluster through
// the API (POST /clusters), with the admin that provisions on it — its superuser unless told.
import { expect } from 'vitest';
import { makeHandler as makeCreateCluster } from '../../functions/api/clusters-create.ts';
import type { Deps } from '../../functions/lib/deps.ts';
import { invoke } from '../../functions/testing/test-deps.ts';
import type { PostgresServer } from '../../shared/src/local/postgres-server.ts';

export async function registerStaticCluster(
  deps: Deps,
  clusterId: string,
  server: PostgresServer,
  admin: { user: string; password: string } = { user: 'postgres', password: server.superuserPassword },
): Promise<void> {
  const res = await invoke(makeCreateCluster(deps), {
    method: 'POST',
    path: '/clusters',
    body: { clusterId, kind: 'static', writer: { host: server.host, port: server.port }, admin },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}
