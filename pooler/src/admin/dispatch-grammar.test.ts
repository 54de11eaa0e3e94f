// The admin console's command grammar (PgBouncer's): case-insensitive keywords, an optional
// trailing semicolon, one command per query, an optional database argument that may be quoted and
// may name a tenant id or a client-facing database name; anything else is UNKNOWN_COMMAND.
import { describe, expect, it } from 'vitest';
import type { Snapshot, TenantRoute } from '../config/snapshot.ts';
import { runAdminCommand } from './dispatch.ts';
import type { AdminHost } from './host.ts';
import { AdminError } from './result.ts';

function route(id: string, database: string, user: string): TenantRoute {
  // Only the fields the commands under test read.
  return { id, database, user } as unknown as TenantRoute;
}

function fakeHost(): { host: AdminHost; calls: string[] } {
  const calls: string[] = [];
  const routes = [route('acme-a', 'app', 'alice'), route('acme-b', 'app', 'bob'), route('other-1', 'Mixed Case', 'carol')];
  const snap: Snapshot = { version: 1, byId: new Map(routes.map((r) => [r.id, r])), byLogin: new Map() };
  const host = {
    snapshot: () => snap,
    draining: false,
    isPaused: () => false,
    pause: async (ids?: readonly string[]) => void calls.push(`pause ${ids?.join(',') ?? '*'}`),
    resume: (ids?: readonly string[]) => void calls.push(`resume ${ids?.join(',') ?? '*'}`),
    reconnect: (ids?: readonly string[]) => void calls.push(`reconnect ${ids?.join(',') ?? '*'}`),
    kill: (id: string) => void calls.push(`kill ${id}`),
  } as unknown as AdminHost;
  return { host, calls };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AdminError) return err.code;
    throw err;
  }
  return 'OK';
}

describe('runAdminCommand', () => {
  it('accepts any keyword case, extra spaces and a trailing semicolon', async () => {
    const { host, calls } = fakeHost();
    for (const q of ['RECONNECT', 'reconnect;', '  ReConnect  ;  ', 'reconnect acme-a;']) await runAdminCommand(host, q);
    expect(calls).toEqual(['reconnect *', 'reconnect *', 'reconnect *', 'reconnect acme-a']);
  });

  it('resolves a client-facing database name to every tenant using it, and unquotes identifiers', async () => {
    const { host, calls } = fakeHost();
    await runAdminCommand(host, 'PAUSE app');
    await runAdminCommand(host, 'KILL "Mixed Case"');
    await runAdminCommand(host, 'kill "acme-b";');
    expect(calls).toEqual(['pause acme-a,acme-b', 'kill other-1', 'kill acme-b']);
    // Unquoted, a name with a space is two words: not a command.
    expect(await codeOf(runAdminCommand(host, 'KILL Mixed Case'))).toBe('UNKNOWN_COMMAND');
  });

  it('treats an empty query as empty', async () => {
    const { host } = fakeHost();
    expect(await runAdminCommand(host, '  ;; ')).toEqual({ reply: null });
  });

  it.each([
    ['SELECT 1', 'UNKNOWN_COMMAND'],
    ['SHOW', 'UNKNOWN_COMMAND'],
    ['SHOW POOLS EXTRA', 'UNKNOWN_COMMAND'],
    ['SHOW POOLS; SHOW STATS', 'UNKNOWN_COMMAND'],
    ['RELOAD now', 'UNKNOWN_COMMAND'],
    ['SHUTDOWN please', 'UNKNOWN_COMMAND'],
    ['KILL', 'DATABASE_REQUIRED'],
    ['PAUSE nosuch', 'NO_SUCH_DATABASE'],
    ['RESUME acme-a', 'NOT_PAUSED'],
  ])('%s → %s', async (q, code) => {
    const { host } = fakeHost();
    expect(await codeOf(runAdminCommand(host, q))).toBe(code);
  });
});
