// Architecture rule (docs/architecture.md): `functions/` and `pooler/` both import `shared/`, never each
// other, and `shared/` imports neither. Run by `npm test`; exits non-zero naming each violation.
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
    else if (/\.(ts|js|mjs)$/.test(name)) yield p;
  }
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const violations: string[] = [];
for (const [part, banned] of Object.entries(forbidden)) {
  for (const file of tsFiles(join(root, part))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? '';
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec)).split('/')[0] ?? '';
      if (banned.includes(target)) violations.push(`${relative(root, file)} imports ${spec} (${part}/ must not import ${target}/)`);
    }
  }
}
if (violations.length > 0) {
  console.error('Import boundary violations:\n' + violations.map((v) => '  ' + v).join('\n'));
  process.exit(1);
}
console.log('import boundaries: ok');
