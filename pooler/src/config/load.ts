// Reads and validates the YAML configuration file. Validation errors name the offending key
// (`tenants.0.pool.size: ...`) so an operator can fix the file without reading code.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CORE_SCHEMA, load as loadYaml, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import { configSchema, type PoolerConfig } from './schema.ts';
import { ConfigError } from './snapshot.ts';

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).join('.');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('\n');
}

function jsonOrUndefined(text: string): unknown {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // YAML flow style, comments...: the YAML parser decides
  }
}

/**
 * What went wrong and where (line:column, 1-based), without the source snippet js-yaml puts in its
 * message: the lines around an error may hold a password, and this text is logged on a failed
 * reload.
 */
function yamlErrorText(err: unknown): string {
  if (err instanceof YAMLException) {
    const at = err.mark ? ` (line ${err.mark.line + 1}, column ${err.mark.column + 1})` : '';
    return `${err.reason}${at}`;
  }
  return (err as Error).message;
}

/** No line with content other than a comment: js-yaml refuses such input; it means "all defaults". */
const hasContent = /^[ \t]*[^#\s]/m;

export function parseConfig(text: string, source = 'config'): PoolerConfig {
  let raw: unknown;
  try {
    // JSON is YAML too, and parses faster still (a 10,000-tenant file: ~10 ms): take the JSON path
    // when the text is JSON. YAML goes to js-yaml, which parses the same 3.7 MB file in 130–170 ms
    // where the `yaml` package took 1.5–2 s, all of it on the event loop during a reload. The core
    // schema is YAML 1.2's (null, bool, int, float, str), what `yaml` resolved by default: no
    // timestamps turned into Dates, no `<<` merge keys.
    raw = jsonOrUndefined(text) ?? (hasContent.test(text) ? loadYaml(text, { schema: CORE_SCHEMA }) : {});
  } catch (err) {
    throw new ConfigError(`${source}: invalid YAML: ${yamlErrorText(err)}`);
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(`${source}: invalid configuration:\n${formatIssues(result.error)}`);
  return result.data;
}

export function loadConfigFile(file: string): { config: PoolerConfig; baseDir: string } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  return { config: parseConfig(text, path), baseDir: dirname(path) };
}
