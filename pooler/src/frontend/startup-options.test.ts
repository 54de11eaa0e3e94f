import { describe, expect, it } from 'vitest';
import { splitOptions, startupSettings } from './startup-options.ts';

describe('splitOptions (PostgreSQL pg_split_opts)', () => {
  it('splits at unescaped white space; a backslash takes the next character', () => {
    expect(splitOptions('  -c a=1\t--b=2  ')).toEqual(['-c', 'a=1', '--b=2']);
    expect(splitOptions('-c search_path=my\\ schema')).toEqual(['-c', 'search_path=my schema']);
    expect(splitOptions('-c x=a\\\\b')).toEqual(['-c', 'x=a\\b']);
    expect(splitOptions('')).toEqual([]);
  });
});

describe('startupSettings', () => {
  it('takes -c, -cname, --name (dashes become underscores); keys win over options', () => {
    const r = startupSettings({ user: 'u', database: 'd', options: '-c statement_timeout=5s -cwork_mem=8MB --lock-timeout=1s', statement_timeout: '7s' });
    expect(r).toEqual({
      keys: { user: 'u', database: 'd' },
      session: [
        ['work_mem', '8MB'],
        ['lock_timeout', '1s'],
        ['statement_timeout', '7s'],
      ],
    });
  });

  it('keeps tracked parameters as start-up keys and maps schema_search_path to search_path', () => {
    const r = startupSettings({ user: 'u', options: '-c DateStyle=ISO -c application_name=x', application_name: 'y', schema_search_path: 'a,b' });
    expect(r).toEqual({ keys: { user: 'u', DateStyle: 'ISO', application_name: 'y' }, session: [['search_path', 'a,b']] });
  });

  it('refuses what PostgreSQL refuses, with its SQLSTATE', () => {
    expect(startupSettings({ options: '-c statement_timeout' })).toMatchObject({ error: { C: '42601', M: '-c statement_timeout requires a value' } });
    expect(startupSettings({ options: '-B 100' })).toMatchObject({ error: { C: '42601' } });
    expect(startupSettings({ 'bad name': '1' })).toMatchObject({ error: { C: '42704' } });
  });
});
