// A throwaway self-signed certificate (P-256) both poolers present to pgbench in the TLS rows, so
// the handshake and the record layer cost the same on both sides. pgbench connects with
// sslmode=require (encryption, no verification): what is measured is the TLS data path, not the
// certificate check. Made with the openssl CLI, readable by PgBouncer's unprivileged OS user.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chownToUnprivileged } from './os-user.ts';

export interface BenchCert {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  remove(): void;
}

export function makeBenchCert(): BenchCert {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-tls-'));
  chmodSync(dir, 0o755);
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  chmodSync(keyFile, 0o600);
  for (const f of [dir, certFile, keyFile]) chownToUnprivileged(f);
  return { dir, certFile, keyFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
