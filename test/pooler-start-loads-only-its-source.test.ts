// What a pooler process loads at start is memory it holds for good (bench/README.md, "Tried for
// issue 15"): a module a source or feature does not use must not be loaded by the others. The
// file source loads neither pg (the local source's topology) nor the AWS SDK; the AWS source, the
// one the fleet runs, loads DynamoDB, KMS and SSM but neither the RDS nor the Secrets Manager
// client (the control plane's) nor pg (≈ 5 MB of heap together).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

/** The npm packages a fresh Node process has resolved after importing `file` (a module of this repo). */
function packagesLoadedBy(file: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-loads-'));
  const hook = join(dir, 'hook.mjs');
  // module.registerHooks (Node >= 22.15) sees every resolution, static and dynamic, ESM and require().
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) seen.add(m[1]); return r; } });
process.on('exit', () => process.stdout.write(JSON.stringify([...seen].sort())));
`,
  );
  const out = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, '--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(join(root, file)).href)});`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as string[];
}

it('the pooler command (file source) loads neither pg nor the AWS SDK', () => {
  const loaded = packagesLoadedBy('pooler/src/main.ts');
  expect(loaded).toContain('zod'); // the hook works: the config schema is loaded
  expect(loaded.filter((p) => p === 'pg' || p.startsWith('@aws-sdk/'))).toEqual([]);
}, 90_000);

it('the AWS config source loads DynamoDB, KMS and SSM, not the RDS or Secrets Manager client nor pg', () => {
  const loaded = packagesLoadedBy('pooler/src/config/sources/aws-source.ts');
  expect(loaded).toEqual(expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/client-kms', '@aws-sdk/client-ssm']));
  expect(loaded.filter((p) => p === 'pg' || p === '@aws-sdk/client-rds' || p === '@aws-sdk/client-secrets-manager')).toEqual([]);
}, 90_000);
