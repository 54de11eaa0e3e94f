import { describe, expect, it } from 'vitest';
import { initialClientParams, settingsToApply, startupValuesToCheck } from './session-params.ts';

describe('session parameters', () => {
  const server = new Map([
    ['client_encoding', 'UTF8'],
    ['DateStyle', 'ISO, MDY'],
    ['TimeZone', 'Etc/UTC'],
    ['application_name', 'switchyard'],
    ['server_version', '15.18'],
  ]);

  it('starts from the server values overridden by the client start-up settings (any case)', () => {
    const p = initialClientParams(server, { user: 'u', datestyle: 'German', application_name: 'psql' });
    expect(p.get('DateStyle')).toBe('German');
    expect(p.get('application_name')).toBe('psql');
    expect(p.get('server_version')).toBe('15.18');
  });

  it('gives a client without application_name an empty one, not the pooler name', () => {
    expect(initialClientParams(server, { user: 'u' }).get('application_name')).toBe('');
  });

  it('emits SET only for differing tracked values, quoted safely', () => {
    const client = new Map(server);
    client.set('TimeZone', "O'Brien\\Zone");
    client.set('server_version', '99');
    expect(settingsToApply(client, server)).toEqual([`SET "TimeZone" TO E'O''Brien\\\\Zone'`]);
    expect(settingsToApply(server, server)).toEqual([]);
  });

  it('checks the start-up values that differ from the server, never application_name', () => {
    const c = startupValuesToCheck(server, { user: 'u', timezone: 'Not/AZone', DateStyle: 'ISO, MDY', application_name: 'anything' });
    expect(c.names).toEqual(['TimeZone']);
    expect(c.sets).toEqual([`SET "TimeZone" TO E'Not/AZone'`]);
    expect(startupValuesToCheck(server, { user: 'u', TimeZone: 'Not/AZone', application_name: 'other' }).key).toBe(c.key);
    expect(startupValuesToCheck(server, { user: 'u', application_name: 'x' }).sets).toEqual([]);
  });

  it('tells the client the server’s spelling of a checked value', () => {
    const p = initialClientParams(server, { user: 'u', timezone: 'utc' }, new Map([['TimeZone', 'UTC']]));
    expect(p.get('TimeZone')).toBe('UTC');
  });
});
