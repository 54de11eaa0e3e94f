// Secrets never reach the control plane's logs, even inside the text of an unexpected error: the
// PRODUCTION logger (functions/lib/logger.ts, captured through its destination stream) redacts
// message and stack text, not only keys — passwords in connection strings (postgres://u:PASS@),
// password=... key/values, SQL PASSWORD '...' literals, SCRAM and md5 verifiers, ciphertext blobs —
// in the error of a failed request, in its `cause`, in an AggregateError from the reconcile, and
// in a message string. What is not a secret (request id, tenant id, hosts, SQLSTATE) stays.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../../functions/api/tenants-create.ts';
import { reconcile } from '../../functions/failover/reconcile.ts';
import { createLogger } from '../../functions/lib/logger.ts';
import { invoke, localTestDeps, type LocalTestDeps } from '../../functions/testing/test-deps.ts';
import { createMd5Verifier, createScramVerifier } from '../../shared/src/auth/verifier.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';

const SCRAM = createScramVerifier('verifier-password', { iterations: 16 });
const MD5 = createMd5Verifier('verifier-password', 'app');
const BLOB = randomBytes(180).toString('base64'); // the size of a KMS ciphertext
const SECRETS = ['S3cr3t-conn-pw', 'hunter2-internal', 'quoted secret!', 'sql-literal-pw', 'inner-cause-pw', 'AdminPass123', SCRAM.split('$')[2]!, MD5.slice(3), BLOB.slice(0, 40)];

let lines: string[];
let t: LocalTestDeps;
beforeEach(async () => {
  lines = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  t = await localTestDeps({ log: createLogger({ level: 'debug', destination: sink }) });
});
afterEach(async () => {
  await t.cleanup();
});

function expectNoSecrets(): string {
  const logs = lines.join('');
  for (const s of SECRETS) expect(logs, `a secret (${s.slice(0, 12)}…) reached the logs`).not.toContain(s);
  return logs;
}

const validBody = { tenantId: 'acme-prod', client: { database: 'acme', user: 'app' }, destination: { host: 'db.internal', database: 'acme', user: 'acme', password: 'destination-password-456' } };

function failingTenants(err: Error): Adapters {
  return { ...t.deps.adapters, tenants: { ...t.deps.adapters.tenants, get: () => Promise.reject(err) } };
}

describe('secrets in error text never reach the logs (production logger)', () => {
  it('an unexpected error quoting a connection string, key/values, SQL, verifiers and a ciphertext: 500, logged redacted, stack too', async () => {
    const err = new Error(
      `connect to postgres://app:S3cr3t-conn-pw@db.internal:5432/acme failed (password=hunter2-internal, "password": "quoted secret!"); ` +
        `while running ALTER ROLE app PASSWORD 'sql-literal-pw'; stored ${SCRAM} / ${MD5}; ciphertext ${BLOB}`,
      { cause: new Error('server said: password=inner-cause-pw') },
    );
    const res = await invoke(makeCreate({ ...t.deps, adapters: failingTenants(err) }), { method: 'POST', path: '/tenants', body: validBody, requestId: 'req-500' });
    expect(res.status).toBe(500);
    const logs = expectNoSecrets();
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request failed');
    expect(failed, logs).toBeDefined();
    // Still useful: which request, which tenant, where it failed — and that something was hidden.
    expect(failed).toMatchObject({ requestId: 'req-500', tenantId: 'acme-prod', status: 500 });
    // pino's error format: the cause's message and stack are appended to the error's.
    const e = failed!.err as { type: string; message: string; stack: string };
    expect(e.type).toBe('Error');
    expect(e.message).toContain('postgres://app:[redacted]@db.internal:5432/acme');
    expect(e.message).toContain('password=[redacted]');
    expect(e.message).toContain('SCRAM-SHA-256$[redacted]');
    expect(e.stack).toContain('[redacted]');
    expect(e.message).toContain('server said: password=[redacted]');
    expect(e.stack).toContain('caused by: Error: server said: password=[redacted]');
    expect(logs).not.toContain('destination-password-456');
  });

  it('the reconcile: a cluster failure quoting its admin connection string (logged, then thrown as an AggregateError)', async () => {
    await t.deps.adapters.clusters.create({ clusterId: 'main', kind: 'static', writer: { host: '10.0.0.1', port: 5432 } });
    const topology = { describe: () => Promise.reject(new Error('probe of postgresql://admin:AdminPass123@10.0.0.1:5432/postgres failed: ECONNREFUSED')) };
    const deps = { ...t.deps, adapters: { ...t.deps.adapters, topology }, writeMetric: () => undefined };
    await expect(reconcile(deps)).rejects.toThrow(/reconcile: 1 step/);
    const logs = expectNoSecrets();
    expect(logs).toContain('postgresql://admin:[redacted]@10.0.0.1:5432/postgres failed: ECONNREFUSED');
  });

  it('a secret in the message string itself, or under a secret key, is redacted too', () => {
    t.deps.log.warn('retrying postgres://app:S3cr3t-conn-pw@db.internal/acme with password=hunter2-internal');
    t.deps.log.info({ password: 'AdminPass123', nested: { clientAuth: { scram: SCRAM } } }, 'object with secret keys');
    const logs = expectNoSecrets();
    expect(logs).toContain('retrying postgres://app:[redacted]@db.internal/acme with password=[redacted]');
  });
});
