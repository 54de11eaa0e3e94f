// Docs rule: the pooler's error catalogue (pooler/src/errors.ts) and docs/errors.md list the same
// error codes and the same disconnect reasons. The catalogue is read by importing it (its codes are
// errorCatalog's keys; its reasons are disconnectReasons plus any `reason` an entry carries), the
// docs from two tables of the "# Errors the pooler reports" section: the one headed `code` and the
// one headed `reason` (every `identifier` in a row's first cell counts). Run by `npm test`; exits
// non-zero naming each code or reason missing on one side.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Catalogue {
  codes: ReadonlySet<string>;
  reasons: ReadonlySet<string>;
}

/** What the catalogue module exports that matters here (either shape: with or without per-entry reasons). */
export interface CatalogueModule {
  errorCatalog: Record<string, { readonly sqlstate: string; readonly reason?: string | null }>;
  disconnectReasons?: readonly string[];
}

export function catalogueOf(mod: CatalogueModule): Catalogue {
  const reasons = new Set(mod.disconnectReasons ?? []);
  for (const entry of Object.values(mod.errorCatalog)) if (typeof entry.reason === 'string') reasons.add(entry.reason);
  return { codes: new Set(Object.keys(mod.errorCatalog)), reasons };
}

const POOLER_SECTION = '# Errors the pooler reports';

/** The first cells' `identifiers` of each table in the pooler's section, by the table's first header cell. */
export function documented(markdown: string): Map<string, string[]> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === POOLER_SECTION);
  const tables = new Map<string, string[]>();
  if (start < 0) return tables;
  let header: string | undefined;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (/^# /.test(line)) break; // the next top-level section
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const first = line.split('|')[1]?.trim() ?? '';
    if (header === undefined) {
      header = first;
      if (!tables.has(header)) tables.set(header, []);
      continue;
    }
    if (/^:?-+:?$/.test(first)) continue; // the separator row
    for (const m of first.matchAll(/`([^`]+)`/g)) tables.get(header)!.push(m[1]!);
  }
  return tables;
}

/** Every difference between the catalogue and the docs, as a sentence; empty when they agree. */
export function checkErrorDocs(catalogue: Catalogue, markdown: string, docName = 'docs/errors.md'): string[] {
  const tables = documented(markdown);
  const problems: string[] = [];
  const compare = (what: string, column: string, expected: ReadonlySet<string>): void => {
    const rows = tables.get(column);
    if (rows === undefined) {
      problems.push(`${docName}: no table headed "${column}" under "${POOLER_SECTION}" (the ${what}s)`);
      return;
    }
    const seen = new Set<string>();
    for (const r of rows) {
      if (seen.has(r)) problems.push(`${docName}: ${what} ${r} is listed twice`);
      seen.add(r);
      if (!expected.has(r)) problems.push(`${docName} lists ${what} ${r}, which pooler/src/errors.ts does not have`);
    }
    for (const e of expected) if (!seen.has(e)) problems.push(`pooler/src/errors.ts has ${what} ${e}, which ${docName} does not list`);
  };
  compare('error code', 'code', catalogue.codes);
  compare('disconnect reason', 'reason', catalogue.reasons);
  return problems;
}

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  const mod: CatalogueModule = await import('../pooler/src/errors.ts');
  const problems = checkErrorDocs(catalogueOf(mod), readFileSync(resolve(root, 'docs', 'errors.md'), 'utf8'));
  if (problems.length > 0) {
    console.error('Error catalogue and docs disagree:\n' + problems.map((p) => '  ' + p).join('\n'));
    process.exit(1);
  }
  const c = catalogueOf(mod);
  console.log(`error docs: ok (${c.codes.size} codes, ${c.reasons.size} disconnect reasons)`);
}

// Run only when executed as a script, not when imported (its unit test).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
