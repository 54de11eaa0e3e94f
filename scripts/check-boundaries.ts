// Architecture rules (docs/architecture.md): `functions/` and `pooler/` both import `shared/`, never each
// other, and `shared/` imports neither; production code (anything that is not a `*.test.ts` file, not
// in a `testing/` folder and not under test/ or bench/) never imports test support (a `testing/`
// folder, a test file, test/, vitest), so no bundle (deploy/build-bundle.ts, the SST functions)
// carries it. Run by `npm test`; exits non-zero naming each violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const forbidden: Record<string, string[]> = {
  pooler: ['functions', 'stacks'],
  functions: ['pooler', 'stacks'],
  shared: ['pooler', 'functions', 'stacks'],
};

function* tsFiles(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (/\.(tsx?|js|mjs)$/.test(name)) yield p;
  }
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;
const violations: string[] = [];
for (const [part, banned] of Object.entries(forbidden)) {
  for (const file of tsFiles(join(root, part))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? '';
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec)).split('/')[0] ?? '';
      if (banned.includes(target)) violations.push(`${relative(root, file)} imports ${spec} (${part}/ must not import ${target}/)`);
    }
  }
}
// Production code never imports test support.
const production = ['pooler', 'shared', 'functions', 'local', 'cli', 'stacks', 'deploy', 'bin', 'web/src', 'scripts'];
const isTestSupport = (path: string): boolean => /(^|\/)testing\//.test(path) || /\.test\.[cm]?[jt]sx?$/.test(path) || path.startsWith('test/') || path.startsWith('bench/');
for (const part of production) {
  for (const file of tsFiles(join(root, part))) {
    const from = relative(root, file);
    if (isTestSupport(from)) continue;
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? '';
      if (spec === 'vitest' || spec.startsWith('vitest/') || spec.startsWith('@vitest/')) {
        violations.push(`${from} imports ${spec} (production code must not import the test runner; test support goes in a testing/ folder)`);
      } else if (spec.startsWith('.') && isTestSupport(relative(root, resolve(dirname(file), spec)))) {
        violations.push(`${from} imports ${spec} (production code must not import test support)`);
      }
    }
  }
}

if (violations.length > 0) {
  console.error('Import boundary violations:\n' + violations.map((v) => '  ' + v).join('\n'));
  process.exit(1);
}
console.log('import boundaries: ok (functions/ and pooler/ apart; no test support in production code)');
