import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exampleNewTenant } from '../testing/examples.ts';
import { tenantSecretContext } from '../domain/tenant.ts';
import { createLocalAdapters } from './adapters.ts';

describe('createLocalAdapters', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-local-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every port in one state directory, creating it and an owner-only key', async () => {
    const stateDir = join(dir, 'state');
    const a = await createLocalAdapters(stateDir);
    const ct = await a.secrets.encrypt('pw', tenantSecretContext('acme-prod', { clusterId: 'main' }));
    await a.tenants.create(exampleNewTenant({ destination: { ...exampleNewTenant().destination, passwordCiphertext: ct } }));
    await a.config.bumpConfigVersion();
    await a.heartbeats.put({ poolerId: 'local', appliedConfigVersion: 1, lastSeen: new Date().toISOString() });
    await a.close();
    expect(readdirSync(stateDir).sort()).toEqual(['config.json', 'heartbeats.json', 'secret.key', 'store.json']);
    expect(statSync(join(stateDir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    // A restarted control plane reads the same state and can still open the secrets.
    const b = await createLocalAdapters(stateDir);
    const t = await b.tenants.get('acme-prod');
    expect(await b.secrets.decrypt(t?.destination.passwordCiphertext ?? '', tenantSecretContext('acme-prod', { clusterId: 'main' }))).toBe('pw');
    expect(await b.config.getConfigVersion()).toBe(1);
  });
});
