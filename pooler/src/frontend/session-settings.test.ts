import { describe, expect, it } from 'vitest';
import { capturedSettings, internSettings, MAX_SESSION_SETTINGS, NO_SETTINGS, restoreAfterReset, settingsToApply } from './session-settings.ts';

describe('session settings', () => {
  it('interns equal settings per pool to one map', () => {
    const pool = {};
    const a = internSettings(pool, [['search_path', 'x'], ['work_mem', '8MB']]);
    const b = internSettings(pool, [['work_mem', '8MB'], ['search_path', 'x']]);
    expect(a).toBe(b);
    expect(internSettings({}, [['search_path', 'x'], ['work_mem', '8MB']])).not.toBe(a);
    expect(internSettings(pool, [])).toBe(NO_SETTINGS);
  });

  it('bounds the bytes of the interned maps per pool (a tenant cycling through big values)', () => {
    const pool = {};
    const big = 'x'.repeat(60 * 1024);
    const first = internSettings(pool, [['search_path', `${big}0`]]);
    for (let i = 1; i < 200; i++) internSettings(pool, [['search_path', `${big}${i}`]]);
    // 200 maps of 60 KiB (12 MB, plus their keys and restore statements) are not all kept: the
    // first still is, the last is used uninterned.
    expect(internSettings(pool, [['search_path', `${big}0`]])).toBe(first);
    const last = (): ReadonlyMap<string, string> => internSettings(pool, [['search_path', `${big}199`]]);
    expect(last()).not.toBe(last());
    expect([...last()]).toEqual([['search_path', `${big}199`]]);
  });

  it('applies what differs with set_config and RESETs what the client has not', () => {
    const pool = {};
    const client = internSettings(pool, [['search_path', '"my schema", public'], ['work_mem', "8'MB"]]);
    const server = internSettings(pool, [['work_mem', "8'MB"], ['lock_timeout', '1s']]);
    expect(settingsToApply(client, server)).toBe(`SELECT pg_catalog.set_config(E'search_path', E'"my schema", public', false); RESET "lock_timeout"`);
    expect(settingsToApply(client, client)).toBe('');
    expect(settingsToApply(NO_SETTINGS, server)).toBe('RESET "lock_timeout"; RESET "work_mem"');
  });

  it('keeps the tracked parameters out, bounds the count, and restores all but idle_session_timeout', () => {
    const pool = {};
    const r = capturedSettings(pool, [['DateStyle', 'ISO, MDY'], ['statement_timeout', '5000'], ['idle_session_timeout', '1000']]);
    expect(r).not.toBeNull();
    const settings = (r as { settings: ReadonlyMap<string, string> }).settings;
    expect([...settings]).toEqual([['idle_session_timeout', '1000'], ['statement_timeout', '5000']]);
    expect(restoreAfterReset(pool, settings).sql).toBe(`SELECT pg_catalog.set_config(E'statement_timeout', E'5000', false)`);
    const many = Array.from({ length: MAX_SESSION_SETTINGS + 1 }, (_, i) => [`s${i}`, 'v']);
    expect(capturedSettings(pool, many)).toEqual({ tooMany: `more than ${MAX_SESSION_SETTINGS} session settings` });
  });

  it('does not leave a timeout under a second on the idle connection (it would strike the next checkout)', () => {
    const pool = {};
    const short = (capturedSettings(pool, [['statement_timeout', '1'], ['lock_timeout', '999'], ['work_mem', '8192']]) as { settings: ReadonlyMap<string, string> }).settings;
    const r = restoreAfterReset(pool, short);
    expect(r.sql).toBe(`SELECT pg_catalog.set_config(E'work_mem', E'8192', false)`);
    expect([...r.kept]).toEqual([['work_mem', '8192']]);
    // A second or more, or off, is put back like any setting.
    const long = (capturedSettings(pool, [['statement_timeout', '1000'], ['lock_timeout', '0']]) as { settings: ReadonlyMap<string, string> }).settings;
    expect([...restoreAfterReset(pool, long).kept]).toEqual([...long]);
  });
});
