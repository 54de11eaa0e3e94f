// The import-cycle check (scripts/check-cycles.ts) on small fixtures: type-only imports, re-exports
// and dynamic import() close a cycle as much as a value import does; an acyclic tree passes.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCycles } from './check-cycles.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-cycles-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

describe('check-cycles', () => {
  it('passes an acyclic tree', async () => {
    const root = fixture({
      'src/a.ts': "import { b } from './b.ts';\nexport const a = b + 1;\n",
      'src/b.ts': "import type { C } from './c.ts';\nexport const b = 1;\nexport type B = C;\n",
      'src/c.ts': 'export type C = number;\n',
    });
    expect(await findCycles(root, ['src/**/*.ts'])).toEqual([]);
  });

  it('finds a cycle of type-only imports', async () => {
    const root = fixture({
      'src/a.ts': "import type { B } from './b.ts';\nexport interface A { b?: B }\n",
      'src/b.ts': "import type { A } from './a.ts';\nexport interface B { a?: A }\n",
    });
    const cycles = await findCycles(root, ['src/**/*.ts']);
    expect(cycles.map((c) => [...c].sort())).toEqual([['src/a.ts', 'src/b.ts']]);
  });

  it('finds a cycle through a re-export, a dynamic import() and another folder', async () => {
    const root = fixture({
      'src/one/a.ts': "export { b } from '../two/b.ts';\n",
      'src/two/b.ts': "export const b = 1;\nexport const later = () => import('./c.ts');\n",
      'src/two/c.ts': "import { b } from '../one/a.ts';\nexport const c = b;\n",
    });
    const cycles = await findCycles(root, ['src/**/*.ts']);
    expect(cycles).toHaveLength(1);
    expect([...cycles[0]!].sort()).toEqual(['src/one/a.ts', 'src/two/b.ts', 'src/two/c.ts']);
  });
});
