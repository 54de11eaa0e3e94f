import { describe, expect, it } from 'vitest';
import { probeQuery, probeVerdict } from './pin-probe.ts';

describe('pin probe', () => {
  it('reads only what the tenant pins, and the cheap temporary-schema check first', () => {
    const off = { max: 1, advisory: false, role: null };
    const cheap = probeQuery(off, false, false);
    expect(cheap).toBe("SELECT CASE WHEN pg_catalog.pg_my_temp_schema() <> 0 THEN pg_catalog.current_setting('sy-pin:temp_schema') END");
    const all = probeQuery({ max: 1, advisory: true, role: "o'wner" }, true, true);
    expect(all).toContain('pg_catalog.pg_class');
    expect(all).toContain('pg_catalog.pg_cursors');
    expect(all).toContain('pg_catalog.pg_locks');
    expect(all).toContain("session_user <> E'o''wner'");
  });

  it("reads the verdict from the probe's own error only", () => {
    expect(probeVerdict({ C: '42704', M: 'unrecognized configuration parameter "sy-pin:temp_table"' })).toBe('temp_table');
    expect(probeVerdict({ C: '42704', M: 'unrecognized configuration parameter "sy-pin:temp_schema"' })).toBe('temp_schema');
    expect(probeVerdict({ C: '42704', M: 'unrecognized configuration parameter "sy-pin:bogus"' })).toBeNull();
    expect(probeVerdict({ C: '57014', M: 'canceling statement due to statement timeout' })).toBeNull();
  });
});
