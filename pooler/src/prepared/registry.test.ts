// The per-tenant statement registry's bookkeeping: the byte budget (idle statements forgotten
// least recently released first, a refusal when statements in use fill it), registration only
// after ParseComplete, and server-side names that depend on the tenant and the text only.
import { describe, expect, it } from 'vitest';
import { ClientStatements } from './client-names.ts';
import { StatementRegistries } from './registry.ts';

/** A Parse body after the name: text, NUL, no parameter types. */
function rest(text: string): Buffer {
  return Buffer.concat([Buffer.from(`${text}\0`, 'latin1'), Buffer.from([0, 0])]);
}

const KB = 1024;

describe('StatementRegistry', () => {
  it('keeps a tenant within its budget by forgetting statements no client uses, least recently released first', () => {
    const r = new StatementRegistries(() => 16 * KB).forTenant('t1');
    const c = new ClientStatements(r);
    const text = (i: number): string => `SELECT ${i}, '${'x'.repeat(KB)}'`;
    for (let i = 0; i < 100; i++) {
      const s = c.define('s', rest(text(i)))!;
      expect(s).not.toBeNull();
      r.confirm(s);
      c.delete('s');
      expect(r.bytes).toBeLessThanOrEqual(16 * KB);
    }
    expect(r.size).toBeGreaterThan(5);
    expect(r.size).toBeLessThan(16);
    // The most recently released texts are the ones kept: taking one again finds it registered.
    const last = c.define('again', rest(text(99)))!;
    expect(last.registered).toBe(true);
    const first = c.define('first', rest(text(0)))!;
    expect(first.registered).toBe(false);
  });

  it('refuses a definition when statements in use fill the budget, and accepts again once one is released', () => {
    const r = new StatementRegistries(() => 16 * KB).forTenant('t1');
    const c = new ClientStatements(r);
    let defined = 0;
    for (; defined < 100; defined++) {
      const s = c.define(`s${defined}`, rest(`SELECT ${defined}, '${'x'.repeat(KB)}'`));
      if (s === null) break;
      r.confirm(s);
    }
    expect(defined).toBeGreaterThan(5);
    expect(defined).toBeLessThan(16);
    expect(r.bytes).toBeLessThanOrEqual(16 * KB);
    // Nothing changed by the refusal.
    expect(c.size).toBe(defined);
    c.delete('s0');
    expect(c.define('next', rest(`SELECT 'next', '${'x'.repeat(KB)}'`))).not.toBeNull();
    // Every name is charged: one statement under many names fills the budget too.
    const alias = new ClientStatements(r);
    let aliases = 0;
    while (alias.define(`alias-${'n'.repeat(200)}-${aliases}`, rest('SELECT 1')) !== null) aliases++;
    expect(aliases).toBeLessThan(16 * KB / 200);
    alias.clear();
    c.clear();
    expect(r.bytes).toBeLessThanOrEqual(16 * KB);
  });

  it('registers a statement only once a server confirmed it, and gives back what a failed Parse took', () => {
    const r = new StatementRegistries(() => 64 * KB).forTenant('t1');
    const a = new ClientStatements(r);
    const b = new ClientStatements(r);
    const s = a.define('s', rest('SELEC oops'))!;
    expect(r.size).toBe(0);
    // Another client defining the same text before the answer gets its own candidate.
    const twin = b.define('s', rest('SELEC oops'))!;
    expect(twin).not.toBe(s);
    expect(twin.serverName).toBe(s.serverName);
    // Both Parses fail: the names go, and so do their bytes.
    a.delete('s');
    b.delete('s');
    expect(r.size).toBe(0);
    expect(r.bytes).toBe(0);
    // A success registers it; a later definition finds it.
    const ok = a.define('ok', rest('SELECT 1'))!;
    r.confirm(ok);
    expect(b.define('other', rest('SELECT 1'))).toBe(ok);
    expect(r.size).toBe(1);
    // A name closed before its ParseComplete arrived leaves nothing registered.
    const gone = a.define('gone', rest('SELECT 2'))!;
    a.delete('gone');
    r.confirm(gone);
    expect(r.size).toBe(1);
    // Once no client names it, only the idle statement itself is left charged.
    a.clear();
    b.clear();
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.bytes).toBeLessThan(KB);
  });

  it('names a statement by tenant and text only: unrelated across tenants, the same after being forgotten', () => {
    const registries = new StatementRegistries(() => 16 * KB);
    const a = new ClientStatements(registries.forTenant('tenant-a'));
    const b = new ClientStatements(registries.forTenant('tenant-b'));
    const inA = a.define('s', rest('SELECT 1'))!;
    const inB = b.define('s', rest('SELECT 1'))!;
    expect(inA.serverName).toMatch(/^sy_[A-Za-z0-9_-]{22}$/);
    expect(inB.serverName).not.toBe(inA.serverName);
    registries.forTenant('tenant-b').confirm(inB);
    const before = inB.serverName;
    b.delete('s');
    // Fill tenant b's budget with other texts, so that the statement is forgotten.
    for (let i = 0; i < 50; i++) {
      const s = b.define('filler', rest(`SELECT ${i}, '${'x'.repeat(KB)}'`))!;
      registries.forTenant('tenant-b').confirm(s);
      b.delete('filler');
    }
    const again = b.define('s', rest('SELECT 1'))!;
    expect(again).not.toBe(inB);
    expect(again.serverName).toBe(before);
    // Another process (another secret) names it differently.
    expect(new ClientStatements(new StatementRegistries(() => 16 * KB).forTenant('tenant-b')).define('s', rest('SELECT 1'))!.serverName).not.toBe(before);
  });

  it('gives an invalidated statement a name never used before', () => {
    const r = new StatementRegistries(() => 64 * KB).forTenant('t1');
    const c = new ClientStatements(r);
    const s = c.define('s', rest('SELECT * FROM t'))!;
    const names = new Set([s.serverName]);
    for (let i = 0; i < 10; i++) {
      r.invalidate(s);
      names.add(s.serverName);
    }
    expect(names.size).toBe(11);
  });
});

describe('SQL PREPARE statements in the registry', () => {
  it('live apart from Parse texts (never found by a Parse), under names of their own, on the same budget', () => {
    const r = new StatementRegistries(() => 16 * KB).forTenant('t1');
    const c = new ClientStatements(r);
    // A Parse body and an SQL text that are the same string must still be two statements.
    const parseBody = rest('SELECT 1');
    const sql = c.defineSql('a', parseBody.toString('latin1'))!;
    r.confirm(sql);
    const parsed = c.define('b', parseBody)!;
    expect(parsed).not.toBe(sql);
    expect(parsed.serverName).not.toBe(sql.serverName);
    expect([sql.sql, parsed.sql]).toEqual([true, false]);
    // Another client's same SQL text is the same statement.
    const other = new ClientStatements(r);
    expect(other.defineSql('z', parseBody.toString('latin1'))).toBe(sql);
    expect(r.sqlPrepareText(sql)).toBe(`PREPARE "${sql.serverName}"${parseBody.toString('latin1')}\n`);
    // The budget counts both kinds: SQL names past it are refused too.
    const big = ` AS SELECT '${'y'.repeat(KB)}'`;
    let refused = false;
    for (let i = 0; i < 32 && !refused; i++) refused = c.defineSql(`n${i}`, `${big}${i}`) === null;
    expect(refused).toBe(true);
    expect(r.bytes).toBeLessThanOrEqual(16 * KB);
    c.clear();
    other.clear();
    expect(c.defineSql('again', `${big}x`)).not.toBeNull();
  });
});
