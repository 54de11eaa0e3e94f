// The TLS keys of the configuration: listen.tls needs its files outside `disable`, modes are
// closed sets, target TLS defaults to disable, and files that cannot be read or parsed are
// reported with the key that names them (never with file contents).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadClientTls } from '../frontend/client-tls.ts';
import { formatIssues } from './load.ts';
import { configSchema } from './schema.ts';
import { buildSnapshot, ConfigError } from './snapshot.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tenant = (tls: unknown) => ({
  id: 'tls-cfg',
  database: 'app',
  user: 'app',
  verifiers: ['md5' + '0'.repeat(32)],
  target: { host: 'db.example.com', database: 'app', user: 'app', password: 'x', tls },
});

function issues(input: unknown): string {
  const r = configSchema.safeParse(input);
  return r.success ? '' : formatIssues(r.error);
}

it('requires cert_file and key_file when the listener mode is allow or require', () => {
  expect(issues({ listen: { tls: { mode: 'require' } } })).toBe('listen.tls.cert_file: required when mode is "require"\nlisten.tls.key_file: required when mode is "require"');
  expect(issues({ listen: { tls: { mode: 'allow', cert_file: 'c.pem' } } })).toBe('listen.tls.key_file: required when mode is "allow"');
  expect(issues({ listen: { tls: { mode: 'disable' } } })).toBe('');
  expect(issues({ listen: { tls: {} } })).toBe('');
});

it('refuses unknown modes and keys on both sides', () => {
  expect(issues({ listen: { tls: { mode: 'prefer', cert_file: 'c', key_file: 'k' } } })).toMatch(/^listen\.tls\.mode: /);
  expect(issues({ tenants: [tenant({ mode: 'allow' })] })).toMatch(/^tenants\.0\.target\.tls\.mode: /);
  expect(issues({ tenants: [tenant({ mode: 'verify-full', sslrootcert: 'x' })] })).toMatch(/^tenants\.0\.target\.tls: /);
});

it('defaults target TLS to disable, which the snapshot leaves out of the target', () => {
  const config = configSchema.parse({ tenants: [tenant({})] });
  expect(config.tenants[0]!.target.tls).toEqual({ mode: 'disable' });
  expect(buildSnapshot(config, 1, dir).byId.get('tls-cfg')!.target.tls).toBeUndefined();
});

it('reads a target CA file once into the snapshot and names the key when it is missing or not PEM', () => {
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const ok = buildSnapshot(configSchema.parse({ tenants: [tenant({ mode: 'verify-full', ca_file: 'ca.pem' })] }), 1, dir);
  expect(ok.byId.get('tls-cfg')!.target.tls).toEqual({ mode: 'verify-full', ca: readFileSync(caFile, 'utf8') });
  // The tenant is skipped (not served), the reason naming the key; the other tenants are not affected.
  const missing = buildSnapshot(configSchema.parse({ tenants: [tenant({ mode: 'verify-ca', ca_file: 'missing.pem' })] }), 1, dir);
  expect(missing.byId.size).toBe(0);
  expect(missing.skipped).toEqual([{ id: 'tls-cfg', reason: expect.stringMatching(/^tenants\.tls-cfg\.target\.tls\.ca_file: cannot read .*missing\.pem/) }]);
  writeFileSync(join(dir, 'not-pem.txt'), 'hello');
  const notPem = buildSnapshot(configSchema.parse({ tenants: [tenant({ mode: 'require', ca_file: 'not-pem.txt' })] }), 1, dir);
  expect(notPem.skipped?.[0]?.reason).toMatch(/^tenants\.tls-cfg\.target\.tls\.ca_file: .*not-pem\.txt holds no PEM certificate/);
});

it('reports unreadable or unusable listener certificate files by key, without their contents', () => {
  expect(() => loadClientTls({ mode: 'require', cert_file: 'nope.pem', key_file: 'nope.key' }, dir)).toThrow(/^listen\.tls\.cert_file: cannot read /);
  const secret = 'THIS-IS-NOT-A-KEY-BUT-PRETEND-IT-IS-SECRET';
  writeFileSync(join(dir, 'bad.pem'), 'not a certificate');
  writeFileSync(join(dir, 'bad.key'), secret);
  let message = '';
  try {
    loadClientTls({ mode: 'allow', cert_file: 'bad.pem', key_file: 'bad.key' }, dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    message = (err as Error).message;
  }
  expect(message).toMatch(/^listen\.tls: cannot use cert_file\/key_file: /);
  expect(message).not.toContain(secret);
  expect(loadClientTls(undefined, dir)).toEqual({ mode: 'disable', context: undefined });
});
