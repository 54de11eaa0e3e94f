// Builds forward.c into build/forward.node with the machine's C compiler and headers already on
// disk: nothing is downloaded. Node-API headers come from the `node-api-headers` package when it
// is installed, else from the running Node's own include/node (official tarballs ship it), else
// from a system Node's (/usr/include/node). Node-API is ABI-stable, so any of them works with
// NAPI_VERSION 8. The "uv" engine also needs libuv's uv.h: taken from the same include
// directories (the running Node's first, libuv 1.x is ABI-stable); without it only the "thread"
// engine is built. No compiler or no headers: { ok: false, reason } and the callers skip loudly.
//
//   node bench/native/build.ts      # builds (or says why not), prints the result as JSON
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type BuildResult = { ok: true; path: string; uv: boolean; compiler: string; headers: string } | { ok: false; reason: string };

const here = import.meta.dirname;
const source = join(here, 'forward.c');
const output = join(here, 'build', 'forward.node');

function compiler(): string | undefined {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (!cc) continue;
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return cc;
    } catch {
      // not installed
    }
  }
  return undefined;
}

function includeDirs(): string[] {
  const dirs: string[] = [];
  try {
    dirs.push(join(dirname(createRequire(join(here, '..', '..', 'package.json')).resolve('node-api-headers/package.json')), 'include'));
  } catch {
    // node-api-headers not installed
  }
  dirs.push(join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/local/include/node', '/usr/include/node');
  return dirs;
}

export function buildForwarder(): BuildResult {
  const cc = compiler();
  if (!cc) return { ok: false, reason: 'no C compiler (cc, gcc or clang; or $CC) on this machine' };
  const dirs = includeDirs();
  const napi = dirs.find((d) => existsSync(join(d, 'node_api.h')));
  if (!napi) return { ok: false, reason: `no node_api.h in ${dirs.join(', ')} (install node-api-headers)` };
  const uvDir = [join(dirname(dirname(process.execPath)), 'include', 'node'), ...dirs, '/usr/include'].find((d) => existsSync(join(d, 'uv.h')));
  if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs && statSync(output).mtimeMs >= statSync(import.meta.filename).mtimeMs) {
    return { ok: true, path: output, uv: uvDir !== undefined, compiler: cc, headers: napi };
  }
  mkdirSync(dirname(output), { recursive: true });
  const args = ['-O2', '-Wall', '-Wextra', '-shared', '-fPIC', '-I', napi];
  if (uvDir) args.push('-DHAVE_UV', '-I', uvDir);
  // Undefined napi_*/uv_* symbols resolve against the node binary at load time.
  args.push('-o', output, source, '-lpthread');
  try {
    execFileSync(cc, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return { ok: false, reason: `${cc} failed: ${stderr.split('\n').slice(-5).join(' | ') || (err as Error).message}` };
  }
  return { ok: true, path: output, uv: uvDir !== undefined, compiler: cc, headers: napi };
}

export interface Forwarder {
  attach(clientFd: number, serverFd: number, engine: 'thread' | 'uv'): void;
  stats(): { pairs: number; bytes: number; uv: boolean };
}

export function loadForwarder(path: string): Forwarder {
  return createRequire(import.meta.url)(path) as Forwarder;
}

if (process.argv[1] === import.meta.filename) {
  const r = buildForwarder();
  process.stdout.write(`${JSON.stringify(r)}\n`);
  if (!r.ok) process.stderr.write(`native forwarder not built: ${r.reason}\n`);
}
