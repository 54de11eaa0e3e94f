// TLS fixtures for the pooler's TLS tests: a throwaway CA and certificates made with the openssl
// CLI (so the tests do not trust Node's own crypto to produce what they check), psql with any
// sslmode, a PostgreSQL server with ssl=on that accepts TCP logins only over TLS (hostssl), and a
// raw SSLRequest + TLS handshake for looking at the certificate a listener presents.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { findPostgresBinDir, run, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { conninfo, until, type ProcessResult } from './clients.ts';
import type { ConnSettings } from './tenants.ts';

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() || e.message}`);
  }
}

export interface TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A directory anyone can traverse (the postgres OS user reads server files from it). */
export function tlsTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-'));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeTlsTempDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A self-signed CA (P-256 keys: fast to make, accepted by PostgreSQL, libpq and Node). */
export function makeCa(dir: string, name: string): TestCa {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  openssl([
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=Switchyard test CA ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { dir, certFile, keyFile };
}

/**
 * A server certificate signed by `ca` for the given DNS names and IP addresses (subjectAltName:
 * what verify-full checks, RFC 6125). Files are `<name>.pem` / `<name>.key` in the CA's dir.
 */
export function issueServerCert(ca: TestCa, name: string, san: { dns?: string[]; ips?: string[] }): TestCert {
  const certFile = join(ca.dir, `${name}.pem`);
  const keyFile = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const ext = join(ca.dir, `${name}.ext`);
  const alt = [...(san.dns ?? []).map((d) => `DNS:${d}`), ...(san.ips ?? []).map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(ext, `subjectAltName=${alt}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`, '-days', '2', '-out', certFile, '-extfile', ext]);
  rmSync(csr);
  rmSync(ext);
  return { certFile, keyFile };
}

/** Runs a psql script through libpq with the given extra conninfo (sslmode, sslrootcert, host, ...). */
export function psqlWith(c: ConnSettings, script: string, extra: Record<string, string>): Promise<ProcessResult> {
  const args = ['-X', '-w', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-', conninfo(c, extra)];
  return run(join(findPostgresBinDir(), 'psql'), args, {
    env: { PGPASSWORD: c.password, LC_ALL: 'C' },
    input: script,
    timeoutMs: 60_000,
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * PostgreSQL with ssl=on using `cert`, and a pg_hba.conf that takes TCP logins only over TLS
 * (hostssl; plaintext has no matching line). The key must belong to the server's OS user with
 * mode 0600 (PostgreSQL refuses group/world-readable keys), so when we are root (startPostgres
 * then runs the server as `postgres`) the key is chowned to that user.
 */
export async function startTlsPostgres(cert: TestCert): Promise<PostgresServer> {
  chmodSync(cert.certFile, 0o644);
  chmodSync(cert.keyFile, 0o600);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(cert.keyFile, uid, gid);
  }
  const pg = await startPostgres({
    settings: { ssl: 'on', ssl_cert_file: `'${cert.certFile}'`, ssl_key_file: `'${cert.keyFile}'` },
  });
  // Overwriting keeps the file's owner (postgres); pg_reload_conf() makes the postmaster re-read it.
  writeFileSync(
    join(pg.dataDir, 'pg_hba.conf'),
    ['local all all trust', 'hostssl all +md5_users 127.0.0.1/32 md5', 'hostssl all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  );
  await pg.psql('SELECT pg_reload_conf()');
  // The postmaster re-reads pg_hba.conf asynchronously: wait until a plaintext TCP login is refused.
  const plain = { host: pg.host, port: pg.port, database: 'postgres', user: pg.superuser, password: pg.superuserPassword };
  await until(async () => (await psqlWith(plain, 'SELECT 1;\n', { sslmode: 'disable' })).stderr.includes('no encryption'), 20_000, 'pg_hba.conf with hostssl only in force');
  return pg;
}

/**
 * Opens a TCP connection, sends SSLRequest, expects 'S' and completes a TLS handshake that trusts
 * `ca` for `servername`; returns the certificate the peer presented. Proves what a listener serves.
 */
export function peerCertificateOf(host: string, port: number, ca: string | Buffer, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const raw = netConnect({ host, port });
    raw.once('error', reject);
    raw.once('connect', () => {
      const req = Buffer.alloc(8);
      req.writeInt32BE(8, 0);
      req.writeInt32BE(80877103, 4);
      raw.write(req);
    });
    raw.once('data', (answer: Buffer) => {
      if (answer.toString('latin1') !== 'S') {
        raw.destroy();
        reject(new Error(`expected 'S' to SSLRequest, got ${JSON.stringify(answer.toString('latin1'))}`));
        return;
      }
      const secure: TLSSocket = tlsConnect({ socket: raw, ca, servername });
      secure.once('error', reject);
      secure.once('secureConnect', () => {
        const cert = secure.getPeerCertificate();
        secure.destroy();
        resolve(cert);
      });
    });
  });
}
