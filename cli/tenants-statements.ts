// `switchyard tenants statements <id>`: the tenant's heaviest statement shapes over the live poolers
// (GET /tenants/{id}/statements; docs/admin.md "Statement shapes").
import type { TenantStatements } from '../functions/lib/tenant-statements.ts';
import type { ApiClient } from './api-client.ts';
import { parse } from './args.ts';
import { json, table, type Io } from './output.ts';

export const STATEMENTS_USAGE_LINE = '  statements <id>         its heaviest statement shapes (normalized texts) over the live poolers';

const ms = (v: number): string => v.toFixed(v < 10 ? 3 : 1);

export function statementsTable(s: TenantStatements): string {
  const head = s.window
    ? `${s.poolers} pooler(s), figures since ${s.window.since} (each pooler's start), as of ${s.window.until}\n`
    : 'no live pooler has reported statements for this tenant\n';
  if (s.statements.length === 0) return head;
  const rows = s.statements.map((x) => [String(x.calls), ms(x.totalMs), ms(x.meanMs), ms(x.maxMs), String(x.poolers), x.text.replace(/\s+/g, ' ')]);
  return head + table(['CALLS', 'TOTAL_MS', 'MEAN_MS', 'MAX_MS', 'POOLERS', 'QUERY'], rows);
}

export async function statementsCommand(api: ApiClient, argv: string[], io: Io, usage: string, path: (id: string) => string): Promise<number> {
  const p = parse(argv, {}, usage, { min: 1, max: 1 });
  if (p.values.help) {
    io.stdout.write(usage);
    return 0;
  }
  const s = (await api.request<TenantStatements>('GET', `${path(p.positionals[0]!)}/statements`)).body;
  io.stdout.write(p.values.json ? json(s) : statementsTable(s));
  return 0;
}
