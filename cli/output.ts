// Human output: aligned tables and key/value blocks; `--json` prints the API's own JSON instead.
export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export function endpoint(e: { host: string; port: number } | undefined): string {
  return e ? `${e.host}:${e.port}` : '-';
}

/**
 * A 2xx answer whose change is stored but not yet announced to the poolers carries `warning`
 * (functions/lib/announce.ts): say so on stderr, so it is seen even when stdout is parsed.
 */
export function warnIfAny(io: Io, body: unknown): void {
  const w = body !== null && typeof body === 'object' ? (body as { warning?: { code?: unknown; message?: unknown } }).warning : undefined;
  if (w && typeof w.message === 'string') io.stderr.write(`switchyard: warning: ${w.message} (${String(w.code)})\n`);
}

/** "+123 ms" relative to `t0` (ISO strings). */
export function offset(t0: string, t: string | undefined): string {
  if (t === undefined) return '';
  return `+${Date.parse(t) - Date.parse(t0)} ms`;
}
