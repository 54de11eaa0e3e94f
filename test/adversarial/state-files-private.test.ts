// The local stack's state directory is 0755 (PostgreSQL, run as another OS user when we are root,
// must traverse it), so every file in it that holds a secret must be 0600 on its own: stack.json
// (the demo tenant's psql line carries its password), pooler.yaml (the admin console's SCRAM
// verifier: an offline guess of the password), the generated passwords, the API token, the key.
// Files left with a wider mode (by an earlier version, or by hand) are set back to 0600 at start.
// A real `switchyard start` on free ports; afterwards no file in the state directory or its logs
// that others may read contains any of the secrets.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, spawnStack, type StackProcess } from '../../local/stack-process.ts';

let stateDir: string;
let stack: StackProcess | undefined;

const mode = (file: string): string => (statSync(join(stateDir, file)).mode & 0o777).toString(8);

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-private-'));
  chmodSync(stateDir, 0o755);
  // What an earlier version left: world-readable files that the start rewrites or reuses.
  writeFileSync(join(stateDir, 'stack.json'), '{}\n', { mode: 0o644 });
  writeFileSync(join(stateDir, 'pooler.yaml'), '# old\n', { mode: 0o644 });
  writeFileSync(join(stateDir, 'admin.password'), 'admin-password-from-an-earlier-start\n', { mode: 0o644 });
  for (const f of ['stack.json', 'pooler.yaml', 'admin.password']) chmodSync(join(stateDir, f), 0o644); // whatever the umask
  stack = await spawnStack({ via: 'node', stateDir, ports: await freePorts(), readyTimeoutMs: 150_000 });
}, 180_000);

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 90_000);

describe('local state files that hold secrets are private', () => {
  it('stack.json, pooler.yaml, the passwords, the API token and the key are 0600', () => {
    const files = ['stack.json', 'pooler.yaml', 'admin.password', 'postgres.password', 'demo.password', 'api-token', 'secret.key'];
    expect(Object.fromEntries(files.map((f) => [f, mode(f)]))).toEqual(Object.fromEntries(files.map((f) => [f, '600'])));
    // The contents are what they should be (the stack did rewrite them, not skip them).
    expect(readFileSync(join(stateDir, 'pooler.yaml'), 'utf8')).toContain('SCRAM-SHA-256$');
    expect(JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')).pid).toBe(stack!.info.pid);
  });

  it('no file that others may read (state directory and logs) contains a secret', () => {
    const read = (f: string): string => readFileSync(join(stateDir, f), 'utf8').trim();
    const verifier = /SCRAM-SHA-256\$[^\s'"]+/.exec(readFileSync(join(stateDir, 'pooler.yaml'), 'utf8'))![0];
    const secrets = [read('admin.password'), read('postgres.password'), read('demo.password'), read('api-token'), verifier];
    const readable: string[] = [];
    for (const dir of ['', 'logs']) {
      for (const name of readdirSync(join(stateDir, dir))) {
        const file = join(dir, name);
        const st = statSync(join(stateDir, file));
        if (!st.isFile() || (st.mode & 0o044) === 0) continue;
        const text = readFileSync(join(stateDir, file), 'utf8');
        for (const s of secrets) if (text.includes(s)) readable.push(`${file} (mode ${mode(file)}) holds ${s.slice(0, 6)}…`);
      }
    }
    expect(readable).toEqual([]);
  });
});
