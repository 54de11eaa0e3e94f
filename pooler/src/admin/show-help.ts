// SHOW HELP: the command list as a NOTICE, as PgBouncer does.
import { tag, type AdminReply } from './result.ts';

const USAGE = [
  'Console usage',
  '\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|STATS|STATS_TOTALS|STATS_AVERAGES|STATEMENTS|LISTS|VERSION',
  '\tPAUSE [<db>]',
  '\tRESUME [<db>]',
  '\tRECONNECT [<db>]',
  '\tKILL <db>',
  '\tRELOAD',
  '\tSHUTDOWN',
  '<db> is a tenant id or a client-facing database name',
].join('\n');

export function showHelp(): AdminReply {
  return tag('SHOW', [USAGE]);
}
