// Password rotation keeps the old password working for `graceSeconds` through the pooler: the API
// rotates (POST /tenants/{id}/rotate-password), the pooler (`--source local`, the same state)
// reloads, and then both the old and the new password log in. With `graceSeconds: 0` only the new
// one does; the old one gets 28P01 like any wrong password.
//
// The pooler's login runs ONE SCRAM exchange, whose first server message carries one salt and
// iteration count (RFC 5802 §3): the previous verifier can only be tried when it shares them with
// the current one, so the rotation must reuse them (frontend/login.ts).
//
// md5 tenants: md5's only salt is the user name, so the old md5 verifier stays valid as it is; the
// pooler loads both md5 verifiers during the grace period (checked on the verifiers the pooler
// builds from the stored row, compared with PostgreSQL's own md5 — the pooler only offers SCRAM
// to a tenant that has a SCRAM verifier, so an md5 login cannot be driven end to end here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../../functions/api/tenants-create.ts';
import { makeHandler as makeRotate } from '../../functions/api/tenants-rotate-password.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../../functions/testing/test-deps.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until } from '../helpers/clients.ts';
import { startPoolerProcess, type PoolerProcess } from '../helpers/failover-rig.ts';
import { registerStaticCluster } from '../helpers/provisioning.ts';
import { md5Response, verifyMd5Response } from '../../pooler/src/auth/md5.ts';
import { activeVerifiers } from '../../pooler/src/config/sources/tenant-config.ts';
import { createDestination, md5VerifierFromPostgres } from '../helpers/tenants.ts';

let server: PostgresServer;
let t: LocalTestDeps;
let pooler: PoolerProcess | undefined;

const TENANT = 'rotate-grace';
const LOGIN = { database: 'rotate_app', user: 'rotate_user' };

/** Logs in through the pooler and runs a query: 'ok', or the SQLSTATE of the refusal. */
async function tryLogin(password: string): Promise<string> {
  try {
    const c = await connectPg({ host: '127.0.0.1', port: pooler!.port, ...LOGIN, password });
    try {
      await c.query('SELECT 1');
      return 'ok';
    } finally {
      await endQuietly(c);
    }
  } catch (err) {
    return pgErrorInfo(err).code ?? `no SQLSTATE: ${pgErrorInfo(err).message}`;
  }
}

async function rotate(body: Record<string, unknown>, tenantId = TENANT): Promise<string> {
  const res = await invoke(makeRotate(t.deps), { method: 'POST', path: `/tenants/${tenantId}/rotate-password`, pathParameters: { id: tenantId }, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return field<string>(res.body, 'password');
}

beforeAll(async () => {
  server = await startPostgres();
  t = await localTestDeps();
  await registerStaticCluster(t.deps, 'pg', server);
  const dest = await createDestination(server, { name: 'rotate_dest' });
  const res = await invoke(makeCreate(t.deps), {
    method: 'POST',
    path: '/tenants',
    body: { tenantId: TENANT, client: LOGIN, destination: { clusterId: 'pg', database: dest.database, user: dest.user, password: dest.password } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  pooler = await startPoolerProcess(t.stateDir);
});

afterAll(async () => {
  await pooler?.stop();
  await t?.cleanup();
  await server?.stop();
});

describe('rotate-password through the pooler', () => {
  it('old and new password both log in during the grace period; graceSeconds 0 leaves only the new one', async () => {
    const original = await rotate({ password: 'original-password-0', graceSeconds: 0 });
    await until(async () => (await tryLogin(original)) === 'ok', 30_000, 'the pooler to load the first password');

    const next = await rotate({ password: 'rotated-password-1' });
    await until(async () => (await tryLogin(next)) === 'ok', 30_000, 'the pooler to load the rotated password');
    expect(await tryLogin(original)).toBe('ok');
    expect(await tryLogin('never-the-password')).toBe('28P01');

    const last = await rotate({ password: 'rotated-password-2', graceSeconds: 0 });
    await until(async () => (await tryLogin(last)) === 'ok', 30_000, 'the pooler to load the last password');
    expect(await tryLogin(next)).toBe('28P01');
    expect(await tryLogin(original)).toBe('28P01');
  });

  it('md5 tenant: both md5 verifiers are loaded during the grace period, exactly PostgreSQL’s md5(password || user); only the new one after graceSeconds 0', async () => {
    const dest = await createDestination(server, { name: 'rotate_md5_dest' });
    const user = 'rotate_md5_user';
    const created = await invoke(makeCreate(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'rotate-md5', client: { database: 'rotate_md5', user, password: 'md5-original-password', md5: true }, destination: { clusterId: 'pg', database: dest.database, user: dest.user, password: dest.password } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const loaded = async (): Promise<string[]> => {
      const row = await t.deps.adapters.tenants.get('rotate-md5');
      return activeVerifiers(row!.clientAuth, new Date()).filter((v) => v.startsWith('md5'));
    };
    const salt = Buffer.from([1, 2, 3, 4]);
    const md5Opens = (verifiers: string[], password: string) => verifiers.some((v) => verifyMd5Response(v, salt, md5Response(password, user, salt)));

    const next = await rotate({ password: 'md5-rotated-password' }, 'rotate-md5');
    const during = await loaded();
    expect(during.sort()).toEqual([await md5VerifierFromPostgres(server, 'md5-original-password', user), await md5VerifierFromPostgres(server, next, user)].sort());
    expect(md5Opens(during, 'md5-original-password') && md5Opens(during, next)).toBe(true);

    const last = await rotate({ password: 'md5-last-password', graceSeconds: 0 }, 'rotate-md5');
    const after = await loaded();
    expect(after).toEqual([await md5VerifierFromPostgres(server, last, user)]);
    expect(md5Opens(after, next)).toBe(false);
  });
});
