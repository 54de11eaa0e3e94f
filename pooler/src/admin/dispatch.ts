// Parses one admin console command (the text of a simple Query message) and runs it. Grammar, as
// PgBouncer's console: case-insensitive keywords, one command per query, an optional trailing
// semicolon, and an optional database argument (a tenant id or client-facing database name,
// optionally double-quoted).
import type { AdminHost } from './host.ts';
import { kill } from './kill.ts';
import { pause, resume } from './pause.ts';
import { reconnect } from './reconnect.ts';
import { reload } from './reload.ts';
import { AdminError, type AdminReply, type Outcome } from './result.ts';
import { showClients } from './show-clients.ts';
import { showConfig } from './show-config.ts';
import { showDatabases } from './show-databases.ts';
import { showHelp } from './show-help.ts';
import { showLists } from './show-lists.ts';
import { showPools } from './show-pools.ts';
import { showServers } from './show-servers.ts';
import { showStatements } from './show-statements.ts';
import { showStats, showStatsAverages, showStatsTotals } from './show-stats.ts';
import { showVersion } from './show-version.ts';
import { shutdown } from './shutdown.ts';

const SHOW: Record<string, (host: AdminHost) => AdminReply> = {
  POOLS: showPools,
  STATS: showStats,
  STATS_TOTALS: showStatsTotals,
  STATS_AVERAGES: showStatsAverages,
  STATEMENTS: showStatements,
  CLIENTS: showClients,
  SERVERS: showServers,
  DATABASES: showDatabases,
  CONFIG: showConfig,
  VERSION: showVersion,
  LISTS: showLists,
  HELP: showHelp,
};

const HINT = 'SHOW HELP lists the admin commands';

function unknown(text: string): AdminError {
  return new AdminError('UNKNOWN_COMMAND', `unknown admin command: ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`, HINT);
}

/**
 * Runs a console command. In a worker of `--workers N` the machine's group runs it on every
 * worker and merges the answers; otherwise (and for each worker's own part) it runs here.
 */
export function runAdminCommand(host: AdminHost, query: string): Promise<Outcome> {
  if (host.adminGroup !== undefined) return host.adminGroup.run(query);
  return runLocalAdminCommand(host, query);
}

/** Runs a console command on this process only. */
export async function runLocalAdminCommand(host: AdminHost, query: string): Promise<Outcome> {
  const text = query.trim().replace(/[\s;]+$/, '');
  if (text === '') return { reply: null };
  if (text.includes(';')) throw new AdminError('UNKNOWN_COMMAND', 'the admin console runs one command per query', HINT);
  const [, verbWord = '', rest = ''] = /^(\S+)\s*(.*)$/s.exec(text) ?? [];
  const verb = verbWord.toUpperCase();
  /** The optional database argument: a bare word, or a double-quoted identifier ("" inside is one quote). */
  const db = (): string | undefined => {
    if (rest === '') return undefined;
    if (/^"(?:[^"]|"")+"$/.test(rest)) return rest.slice(1, -1).replaceAll('""', '"');
    if (/^\S+$/.test(rest)) return rest;
    throw unknown(text);
  };
  switch (verb) {
    case 'SHOW': {
      const show = /^\S+$/.test(rest) ? SHOW[rest.toUpperCase()] : undefined;
      if (show === undefined) throw unknown(text);
      return { reply: show(host) };
    }
    case 'PAUSE':
      return { reply: await pause(host, db()) };
    case 'RESUME':
      return { reply: resume(host, db()) };
    case 'RECONNECT':
      return { reply: reconnect(host, db()) };
    case 'KILL':
      return { reply: kill(host, db()) };
    case 'RELOAD':
      if (rest !== '') throw unknown(text);
      return { reply: await reload(host) };
    case 'SHUTDOWN':
      if (rest !== '') throw unknown(text);
      return shutdown(host);
    default:
      throw unknown(text);
  }
}
