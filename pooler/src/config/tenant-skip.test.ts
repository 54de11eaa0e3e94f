// One bad tenant never fails a whole configuration (issue 10, item 8): validateConfig leaves out
// invalid tenants, buildSnapshot tenants in conflict, both with a reason.
import { describe, expect, it } from 'vitest';
import { exampleScramVerifier } from '../../../shared/src/testing/examples.ts';
import { MAX_DURATION_SECONDS } from './schema.ts';
import { buildSnapshot, ConfigError } from './snapshot.ts';
import { validateConfig } from './validate.ts';

function tenant(id: string, database: string, user: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    database,
    user,
    verifiers: [exampleScramVerifier()],
    target: { host: '127.0.0.1', port: 5432, database: 'd', user: 'u', password: 'p' },
    ...extra,
  };
}

function snapshotOf(tenants: unknown[], previous?: ReturnType<typeof buildSnapshot>): ReturnType<typeof buildSnapshot> {
  const { config, skipped } = validateConfig({ tenants });
  return buildSnapshot(config, 1, process.cwd(), previous, skipped);
}

describe('a configuration with bad tenants', () => {
  it('skips names with NUL: ("a\\0b","c") and ("a","b\\0c") would claim one login', () => {
    const s = snapshotOf([tenant('nul-one', 'a\0b', 'c'), tenant('nul-two', 'a', 'b\0c'), tenant('fine-one', 'a', 'b')]);
    expect([...s.byId.keys()]).toEqual(['fine-one']);
    expect(s.skipped).toEqual([
      { id: 'nul-one', reason: 'tenants.0.database: must not contain control characters (U+0000 to U+001F, U+007F to U+009F)' },
      { id: 'nul-two', reason: 'tenants.1.user: must not contain control characters (U+0000 to U+001F, U+007F to U+009F)' },
    ]);
  });

  it.each(['us\ner', 'tab\there', 'del\x7f', 'esc\x1b[31m', 'c1\u0085'])('skips a user name with a control character (%j)', (user) => {
    expect(snapshotOf([tenant('ctl-one', 'db', user)]).skipped?.[0]?.reason).toMatch(/must not contain control characters/);
  });

  it('skips a name with an unpaired surrogate (it would reach the pooler as U+FFFD, like another name)', () => {
    expect(snapshotOf([tenant('sur-one', 'db\ud800', 'u')]).skipped?.[0]?.reason).toMatch(/well-formed Unicode/);
  });

  it('skips a tenant with a duration no timer can wait, naming the bound', () => {
    const s = snapshotOf([tenant('slow-one', 'db', 'u', { pool: { connect_timeout: MAX_DURATION_SECONDS + 1 } }), tenant('fine-one', 'db2', 'u')]);
    expect([...s.byId.keys()]).toEqual(['fine-one']);
    expect(s.skipped?.[0]).toEqual({
      id: 'slow-one',
      reason: 'tenants.0.pool.connect_timeout: must be at most 2147483 seconds (about 24.8 days, the longest a timer can wait)',
    });
  });

  it('reports a tenant without a usable id by its position', () => {
    expect(snapshotOf([{ id: 7 }, 'junk']).skipped?.map((t) => t.id)).toEqual(['tenants.0', 'tenants.1']);
  });

  it('skips every tenant of an id that appears twice', () => {
    const s = snapshotOf([tenant('twice-id', 'db1', 'u'), tenant('twice-id', 'db2', 'u'), tenant('fine-one', 'db3', 'u')]);
    expect([...s.byId.keys()]).toEqual(['fine-one']);
    expect(s.skipped?.map((t) => t.id)).toEqual(['twice-id', 'twice-id']);
  });

  it('a login claimed twice: nobody gets it, unless one already served it (a new row cannot take it over)', () => {
    const first = snapshotOf([tenant('owner-one', 'db', 'u'), tenant('thief-one', 'db', 'u')]);
    expect(first.byId.size).toBe(0);
    expect(first.skipped?.map((t) => t.reason)).toEqual([
      'database "db" and user "u" are claimed by several tenants ("owner-one", "thief-one"); none is served',
      'database "db" and user "u" are claimed by several tenants ("owner-one", "thief-one"); none is served',
    ]);
    const served = snapshotOf([tenant('owner-one', 'db', 'u')]);
    // The claimant listed first still does not win: the incumbent does.
    const next = snapshotOf([tenant('thief-one', 'db', 'u'), tenant('owner-one', 'db', 'u')], served);
    expect([...next.byId.keys()]).toEqual(['owner-one']);
    expect(next.skipped).toEqual([{ id: 'thief-one', reason: 'database "db" and user "u" are already used by tenant "owner-one"' }]);
  });

  it('skips a tenant whose password file cannot be read', () => {
    const s = snapshotOf([tenant('file-one', 'db', 'u', { target: { host: 'h', database: 'd', user: 'u', password_file: '/nonexistent/pw' } })]);
    expect(s.skipped?.[0]?.reason).toMatch(/^tenants\.file-one\.target\.password_file: cannot read \/nonexistent\/pw/);
  });

  it('refuses the whole configuration when something other than a tenant is invalid', () => {
    expect(() => validateConfig({ limits: { shutdown_timeout: MAX_DURATION_SECONDS + 1 }, tenants: [tenant('fine-one', 'db', 'u')] })).toThrow(ConfigError);
    expect(() => validateConfig({ limits: { shutdown_timeout: 1e12 } })).toThrow(/limits\.shutdown_timeout: must be at most 2147483 seconds/);
    expect(() => validateConfig({ limits: { max_client_conn: 0 } })).toThrow(/limits\.max_client_conn/);
    expect(() => validateConfig({ limits: { max_server_scram_iterations: 1000 } })).toThrow(/limits\.max_server_scram_iterations/);
  });

  it('fills the limits defaults', () => {
    expect(validateConfig({}).config.limits).toEqual({
      max_message_size: 256 * 1024 * 1024,
      shutdown_timeout: 30,
      max_client_conn: 10_000,
      max_unauthenticated_per_address: 100,
      max_server_scram_iterations: 100_000,
      switchover_timeout: 60,
    });
    expect(() => validateConfig({ limits: { switchover_timeout: 301 } })).toThrow(/limits\.switchover_timeout/);
  });
});
