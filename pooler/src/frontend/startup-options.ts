// The settings a start-up packet carries beyond user and database, read as PostgreSQL reads them
// (protocol docs, "StartupMessage": any other key is a run-time parameter to set at start-up, and
// `options` holds command-line arguments). PostgreSQL's pg_split_opts splits `options` at
// unescaped white space, a backslash taking the next character literally; its
// process_postgres_switches then takes `-c name=value`, `-cname=value` and `--name=value`
// (ParseLongOption: '-' in the name becomes '_'; no '=' is 42601 "-c x requires a value"). The
// `options` are applied first, the packet's own keys after them (process_startup_options), so a
// key wins over the same name in `options`. Perseus's `schema_search_path` key is taken as
// `search_path`, for clients migrating from it.
//
// Tracked parameters (session-params.ts) stay start-up keys; every other setting becomes one of the
// client's session settings (session-settings.ts), checked by a server of the pool at login
// (startup-check.ts) and its default: what RESET takes the client back to, as in PostgreSQL.
import { TRACKED_PARAMETERS } from './session-params.ts';

/** Start-up keys that are not run-time settings. */
const NOT_SETTINGS: ReadonlySet<string> = new Set(['user', 'database', 'options', 'replication']);
/**
 * Settings PostgreSQL takes at start-up that a shared server connection cannot carry for one
 * client: temp_buffers cannot change once the backend used a temporary table (session-settings.ts
 * NOT_KEPT). Taken as a name, not applied: checked on a connection another client used, it failed
 * the login (and the failure was remembered for every later login with the same options).
 */
const NOT_CARRIED: ReadonlySet<string> = new Set(['temp_buffers']);
const TRACKED_LOWER: ReadonlySet<string> = new Set(TRACKED_PARAMETERS.map((n) => n.toLowerCase()));
/** A setting name as PostgreSQL accepts one (letters, digits, '_', '$', and '.' for custom settings). */
const NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$/;

export type StartupSettings =
  | { keys: Record<string, string>; session: [string, string][] }
  | { error: Record<string, string> };

/** Splits `options` as pg_split_opts does. */
export function splitOptions(options: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < options.length) {
    while (i < options.length && isSpace(options[i]!)) i++;
    if (i >= options.length) break;
    let arg = '';
    let escaped = false;
    for (; i < options.length; i++) {
      const ch = options[i]!;
      if (isSpace(ch) && !escaped) break;
      if (!escaped && ch === '\\') escaped = true;
      else {
        escaped = false;
        arg += ch;
      }
    }
    out.push(arg);
  }
  return out;
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
}

function syntaxError(message: string, hint?: string): { error: Record<string, string> } {
  const f: Record<string, string> = { S: 'FATAL', V: 'FATAL', C: '42601', M: message };
  if (hint !== undefined) f.H = hint;
  return { error: f };
}

/**
 * The packet's settings: `keys`, the start-up keys with `options`' tracked parameters merged under
 * them (for session-params.ts), and `session`, every other setting (name lower-cased, as
 * PostgreSQL's GUC names are case-insensitive) in the order PostgreSQL applies them, later wins.
 */
export function startupSettings(params: Readonly<Record<string, string>>): StartupSettings {
  const fromOptions: [string, string][] = [];
  const options = params.options;
  if (options !== undefined && options !== '') {
    const argv = splitOptions(options);
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      let long: string | undefined;
      let flag = '-c';
      if (arg === '-c') {
        long = argv[++i];
        if (long === undefined) return syntaxError('option requires an argument -- \'c\'');
      } else if (arg.startsWith('-c')) long = arg.slice(2);
      else if (arg.startsWith('--') && arg.length > 2) {
        long = arg.slice(2);
        flag = '-';
      } else return syntaxError(`invalid command-line argument for server process: ${arg}`, 'Only -c name=value and --name=value are taken through a pooler.');
      const eq = long.indexOf('=');
      if (eq < 0) return syntaxError(flag === '-c' ? `-c ${long} requires a value` : `--${long} requires a value`);
      fromOptions.push([long.slice(0, eq).replace(/-/g, '_'), long.slice(eq + 1)]);
    }
  }
  const keys: Record<string, string> = {};
  const session = new Map<string, string>();
  const take = (rawName: string, value: string, fromKey: boolean): { error: Record<string, string> } | undefined => {
    let name = rawName.toLowerCase();
    if (fromKey && name === 'schema_search_path') name = 'search_path';
    if (TRACKED_LOWER.has(name)) {
      // The tracked path reads them from the start-up keys; a key wins over `options`.
      if (fromKey || !Object.keys(params).some((k) => k.toLowerCase() === name)) keys[rawName] = value;
      return undefined;
    }
    if (!NAME.test(name)) return { error: { S: 'FATAL', V: 'FATAL', C: '42704', M: `unrecognized configuration parameter "${rawName}"` } };
    if (NOT_CARRIED.has(name)) return undefined;
    session.delete(name);
    session.set(name, value);
    return undefined;
  };
  for (const [n, v] of fromOptions) {
    const e = take(n, v, false);
    if (e !== undefined) return e;
  }
  for (const k in params) {
    if (NOT_SETTINGS.has(k) || k.startsWith('_pq_.')) {
      if (k !== 'options') keys[k] = params[k]!;
      continue;
    }
    const e = take(k, params[k]!, true);
    if (e !== undefined) return e;
  }
  return { keys, session: [...session] };
}
