// The web console's files (web/dist, built by scripts/setup.sh with Vite) served by the local
// control API on the same origin, so the console's API calls are same-origin requests. Plugged into
// the API server's static-file hook (api-server.ts StaticFiles: a GET/HEAD of a path that is no API
// route, after the Host check, without the token — the files hold no data).
//
// Only an allow-list of paths is served — `/`, `/index.html`, `/api.html`, `/favicon.svg` and
// `/assets/<file>` — so no path can reach outside web/dist. Headers: a strict
// Content-Security-Policy (scripts from this origin only, framing only by this origin: the API page
// is framed by the console), no referrer (the token travels in the URL fragment only, but be safe),
// hashed assets cached for a year, the HTML revalidated (RFC 9111 §5.2.2.2 no-cache).
// Files are read without blocking the event loop and kept in memory until their mtime changes.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { StaticFile, StaticFiles } from './api-server.ts';

export const CONSOLE_DIST = resolve(import.meta.dirname, '..', 'web', 'dist');

/** Content types of the console's build output, shared with the S3 upload (deploy/publish-console.ts). */
export const CONSOLE_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

/** Paths served from the root of web/dist; anything under /assets/ must be a plain file name. */
const ROOT_FILES = new Map([
  ['/', 'index.html'],
  ['/index.html', 'index.html'],
  ['/api.html', 'api.html'],
  ['/favicon.svg', 'favicon.svg'],
]);
const ASSET = /^\/assets\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

// The API reference page (Scalar) injects <style> elements; the console itself needs no inline
// styles but uPlot sets style attributes from script, which CSP allows (CSSOM, not markup).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

const NOT_BUILT = Buffer.from('The web console is not built. `npm start` builds it (scripts/setup.sh runs the Vite build); the API itself works.\n');

function fileOf(path: string): string | undefined {
  const root = ROOT_FILES.get(path);
  if (root) return root;
  const m = ASSET.exec(path);
  return m && !m[1]!.includes('..') ? join('assets', m[1]!) : undefined;
}

/** The console's files for the API server's static-file hook; undefined for any other path. */
export function consoleFiles(dist: string = CONSOLE_DIST): StaticFiles {
  const cache = new Map<string, { file: StaticFile; mtimeMs: number }>();
  return async (path) => {
    const rel = fileOf(path);
    if (!rel) return undefined;
    let st;
    try {
      st = await stat(join(dist, rel));
    } catch {
      st = undefined;
    }
    if (!st?.isFile()) {
      // The page itself is missing: say how to build it rather than a bare 404.
      if (rel !== 'index.html') return undefined;
      return { body: NOT_BUILT, contentType: 'text/plain; charset=utf-8', headers: { 'cache-control': 'no-store' } };
    }
    const hit = cache.get(rel);
    // A rebuild (setup.sh while the stack runs) replaces files: reload when the mtime moved.
    if (hit && hit.mtimeMs === st.mtimeMs) return hit.file;
    const headers: Record<string, string> = {
      'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    };
    if (rel.endsWith('.html')) {
      headers['content-security-policy'] = CSP;
      headers['x-frame-options'] = 'SAMEORIGIN';
    }
    const file: StaticFile = { body: await readFile(join(dist, rel)), contentType: CONSOLE_CONTENT_TYPES[extname(rel)] ?? 'application/octet-stream', headers };
    cache.set(rel, { file, mtimeMs: st.mtimeMs });
    return file;
  };
}
