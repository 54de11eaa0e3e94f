// Flag parsing shared by the API commands: node:util parseArgs with the common flags (--api,
// --json, --help) added, and every mistake reported as a UsageError (exit status 2).
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../shared/src/usage-error.ts';


export type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON: Options = {
  api: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const COMMON_HELP = `  --api URL           the control API (default: SWITCHYARD_API, else the local stack's); the
                      token is SWITCHYARD_API_TOKEN, else <state dir>/api-token
  --json              machine-readable output (the API's JSON)
`;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: Options, usage: string, positionals: { min: number; max: number }): Parsed {
  let r: { values: Record<string, unknown>; positionals: string[] };
  try {
    r = parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
  const values = r.values as Record<string, string | boolean | undefined>;
  if (values.help) return { values, positionals: r.positionals };
  if (r.positionals.length < positionals.min) throw new UsageError('missing argument', usage);
  if (r.positionals.length > positionals.max) throw new UsageError(`unexpected argument "${r.positionals[positionals.max]}"`, usage);
  return { values, positionals: r.positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function int(p: Parsed, name: string, usage: string, range: { min: number; max: number }): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < range.min || Number(v) > range.max) throw new UsageError(`--${name}: "${v}" is not a whole number from ${range.min} to ${range.max}`, usage);
  return Number(v);
}

/** A secret from a file, or from stdin with "-" (never from the command line, where `ps` shows it). */
export async function secretFrom(path: string, stdin: NodeJS.ReadableStream, usage: string): Promise<string> {
  let text: string;
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, usage);
    }
  }
  // One trailing newline (echo, editors) is not part of the password.
  return text.replace(/\r?\n$/, '');
}
