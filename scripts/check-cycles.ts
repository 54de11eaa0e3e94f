// Architecture rule (docs/architecture.md): no import cycle between the files of pooler/src,
// functions/, shared/src, local/ and cli/ — type-only imports and dynamic import() included, since
// a cycle of types is still two files that cannot be understood (or moved) one without the other.
// The import graph is dpdm's (it parses with the TypeScript compiler, so `import type` counts).
// Run by `npm test`; exits non-zero printing each cycle.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

export const TREES = ['pooler/src', 'functions', 'shared/src', 'local', 'cli'] as const;

/** Every import cycle among the files matched by `globs` (relative to `root`), each as its files in import order. */
export async function findCycles(root: string, globs: readonly string[]): Promise<string[][]> {
  const tree = await parseDependencyTree([...globs], {
    cwd: root,
    context: root,
    // Keep `import type`: dpdm's transform would drop it before looking.
    transform: false,
    skipDynamicImports: false,
  });
  return parseCircular(tree);
}

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  const cycles = await findCycles(root, TREES.map((t) => `${t}/**/*.ts`));
  if (cycles.length > 0) {
    console.error(`Import cycles (${cycles.length}):\n` + cycles.map((c) => '  ' + [...c, c[0]].join(' -> ')).join('\n'));
    process.exit(1);
  }
  console.log(`import cycles: none in ${TREES.join(', ')}`);
}

// Run only when executed as a script, not when imported (its unit test).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
