// Builds the pooler bundle for EC2: one ESM file with every dependency inlined (esbuild), its
// source map, a package.json that marks it as ESM, and the systemd unit. The directory is what the
// PoolerFleet stack uploads (a CDK asset, zipped) and what user data unpacks into
// /opt/switchyard/releases/<hash>.
//
// The output is deterministic (no timestamps, no commit ids): the asset hash is the content hash,
// and a changed hash replaces the fleet, so an unchanged pooler must produce identical bytes.
//
//   node deploy/build-bundle.ts [--out DIR]      (npm run bundle)
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export interface BundleOptions {
  /** Project root (holds package.json, pooler/, deploy/). */
  readonly root: string;
  /** Output directory; emptied first. Default `<root>/dist/pooler`. */
  readonly outDir?: string;
}

export interface BundleResult {
  readonly outDir: string;
  readonly entry: string;
  /** Bytes of main.js. */
  readonly size: number;
  /** Files written, relative to outDir. */
  readonly files: readonly string[];
}

export class BundleError extends Error {
  readonly code = 'BUNDLE_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** Bundle-relative name of the entry file (the systemd unit runs it). */
export const BUNDLE_ENTRY = 'main.js';
export const UNIT_FILE = 'switchyard.service';

// `node main.js --config FILE` runs the pooler command directly (no sub-command), so the unit and
// local runs use the same arguments as pooler/src/main.ts documents.
const ENTRY_SOURCE = `import { poolerCommand } from './pooler/src/main.ts';
process.exitCode = await poolerCommand(process.argv.slice(2));
`;

export async function buildPoolerBundle(opts: BundleOptions): Promise<BundleResult> {
  const root = resolve(opts.root);
  const outDir = resolve(opts.outDir ?? join(root, 'dist', 'pooler'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, BUNDLE_ENTRY);
  try {
    const result = await build({
      stdin: { contents: ENTRY_SOURCE, resolveDir: root, sourcefile: 'pooler-entry.ts', loader: 'ts' },
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      outfile,
      // Not minified and names kept: stack traces in production logs read as they are. The map is for
      // looking a line up (or for a run with --enable-source-maps, which costs ~86 MiB of memory).
      sourcemap: 'linked',
      sourcesContent: false,
      keepNames: true,
      minify: false,
      legalComments: 'none',
      // pg's optional native binding is never used (pg falls back to JS when it is absent).
      external: ['pg-native'],
      // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
      banner: { js: "import { createRequire as __switchyardCreateRequire } from 'node:module';\nconst require = __switchyardCreateRequire(import.meta.url);" },
      // Non-ASCII in strings and identifiers is escaped; comments esbuild keeps are Latin-1-folded below.
      charset: 'ascii',
      logLevel: 'silent',
    });
    if (result.errors.length > 0) throw new BundleError(result.errors.map((e) => e.text).join('\n'));
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError(`esbuild failed: ${(err as Error).message}`);
  }
  latin1Comments(outfile);
  writeFileSync(join(outDir, 'package.json'), JSON.stringify({ name: 'switchyard-pooler', version: pkg.version ?? '0.0.0', private: true, type: 'module' }, null, 2) + '\n');
  copyFileSync(join(root, 'deploy', UNIT_FILE), join(outDir, UNIT_FILE));
  const size = readFileSync(outfile).length;
  return { outDir, entry: outfile, size, files: [BUNDLE_ENTRY, `${BUNDLE_ENTRY}.map`, 'package.json', UNIT_FILE] };
}

/**
 * V8 holds every script's source for the life of the process: one byte per character when all
 * characters are Latin-1, two bytes otherwise. With `charset: 'ascii'` the only wider characters
 * esbuild leaves are in the comments it keeps (class bodies, JSDoc: "→", "—"), and one of them
 * doubled the 4.8 MB source to 9.8 MB of heap (bench/README.md, "Tried for issue 15"). Each
 * UTF-16 unit above U+00FF becomes "?": one unit for one, so the source map's columns still hold.
 */
function latin1Comments(file: string): void {
  const code = readFileSync(file, 'utf8');
  const folded = code.replace(/[^\x00-\xff]/g, '?');
  if (folded !== code) writeFileSync(file, folded);
}

async function cli(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const root = resolve(import.meta.dirname, '..');
  const result = await buildPoolerBundle({ root, ...(values.out ? { outDir: values.out } : {}) });
  process.stdout.write(`pooler bundle: ${result.outDir} (${BUNDLE_ENTRY} ${(result.size / 1024).toFixed(0)} KiB)\n`);
}

// Run only when executed as a script, not when imported (tests, sst.config.ts).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((err: unknown) => {
    process.stderr.write(`build-bundle: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
