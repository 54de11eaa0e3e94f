// Session state on shared server connections (transaction mode, ONE server connection, two clients
// taking turns on it). Each client sets its own application_name, TimeZone and DateStyle with SET;
// every later transaction must run with that client's values (SHOW, and how a timestamptz prints),
// the client must receive ParameterStatus for its own values and never for the other client's,
// a SET LOCAL must not outlive its transaction, RESET must go back to the login value, and a
// session-level `SET statement_timeout` by one client must not leak to the other.
// Protocol docs, "Asynchronous Operations": the server reports GUC_REPORT parameters (among them
// application_name, TimeZone, DateStyle) with ParameterStatus whenever they change.
// Session mode (a server connection per client) shows the expected values with no sharing at all.
import { describe, expect, it } from 'vitest';
import { bind, endAll, execute, parse, ProtocolClient, sync } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';

const { tenants, pooled } = poolerPerMode('state', { transaction: 1, session: 2 });

interface Settings {
  application_name: string;
  TimeZone: string;
  DateStyle: string;
}

const A: Settings = { application_name: 'client_a', TimeZone: 'UTC', DateStyle: 'ISO, DMY' };
const B: Settings = { application_name: 'client_b', TimeZone: 'America/New_York', DateStyle: 'SQL, MDY' };
// How 2024-01-02 03:04:05 UTC prints under each client's TimeZone and DateStyle.
const STAMP = "'2024-01-02 03:04:05+00'::timestamptz::text";
const PRINTED = { a: '2024-01-02 03:04:05+00', b: '01/01/2024 22:04:05 EST' };

/** One simple Query reading everything this test checks, as one transaction. */
const READ = `SHOW application_name; SHOW TimeZone; SHOW DateStyle; SHOW statement_timeout; SELECT ${STAMP}; SELECT pg_backend_pid()`;

async function read(c: ProtocolClient): Promise<{ app: string; tz: string; ds: string; timeout: string; stamp: string; pid: string }> {
  const r = (await c.simple(READ)).map((row) => row[0] ?? '');
  const [app, tz, ds, timeout, stamp, pid] = r;
  return { app: app!, tz: tz!, ds: ds!, timeout: timeout!, stamp: stamp!, pid: pid! };
}

async function applySettings(c: ProtocolClient, s: Settings): Promise<void> {
  await c.simple(`SET application_name = '${s.application_name}'`);
  await c.simple(`SET TimeZone = '${s.TimeZone}'`);
  // The extended protocol too (unnamed statement), as drivers send SET.
  const msgs = await c.request(parse('', `SET DateStyle = '${s.DateStyle}'`), bind('', ''), execute(), sync());
  expect(msgs.map((m) => m.type)).not.toContain('E');
}

describe.each(MODES)('%s mode', (mode) => {
  it('the application_name a client sent at start-up is the one in effect on the server', async () => {
    const t = tenants[mode];
    const clients: ProtocolClient[] = [];
    try {
      for (const name of ['start_a', 'start_b']) clients.push(await ProtocolClient.connect(pooled(t), { application_name: name }));
      for (let round = 0; round < 2; round++) {
        for (const [i, c] of clients.entries()) {
          const name = ['start_a', 'start_b'][i];
          expect(c.params.get('application_name'), 'ParameterStatus at login').toBe(name);
          expect((await read(c)).app, `SHOW application_name, round ${round}`).toBe(name);
        }
      }
    } finally {
      await endAll(clients);
    }
  });

  it('each client keeps its own SET values and ParameterStatus; statement_timeout does not leak', async () => {
    const t = tenants[mode];
    const clients: ProtocolClient[] = [];
    try {
      const a = await ProtocolClient.connect(pooled(t));
      const b = await ProtocolClient.connect(pooled(t));
      clients.push(a, b);
      const loginTz = b.params.get('TimeZone');
      expect(loginTz, 'TimeZone reported at login').toBeDefined();

      await applySettings(a, A);
      await a.simple("SET statement_timeout = '1s'");
      // B reads before setting anything: nothing of A's may show (transaction mode: same server).
      // (expect.soft: record every leak, not just the first.)
      const fresh = await read(b);
      expect.soft(fresh.app, 'application_name leaked from the other client').not.toBe(A.application_name);
      expect.soft(fresh.tz, 'TimeZone before b set one').toBe(loginTz);
      expect.soft(fresh.ds, 'DateStyle before b set one').toBe(b.params.get('DateStyle'));
      expect.soft(fresh.timeout, 'statement_timeout leaked from the other client').toBe('0');
      await applySettings(b, B);

      const pids = new Set<string>();
      for (let round = 0; round < 3; round++) {
        const ra = await read(a);
        expect.soft(ra, `client a, round ${round}`).toMatchObject({ app: A.application_name, tz: A.TimeZone, ds: A.DateStyle, stamp: PRINTED.a });
        const rb = await read(b);
        expect.soft(rb, `client b, round ${round}`).toMatchObject({ app: B.application_name, tz: B.TimeZone, ds: B.DateStyle, stamp: PRINTED.b, timeout: '0' });
        pids.add(ra.pid).add(rb.pid);
        // SET LOCAL lasts only for its transaction.
        await b.simple("BEGIN; SET LOCAL TimeZone = 'Asia/Tokyo'; COMMIT");
      }
      if (mode === 'transaction') expect(pids.size, 'the two clients must share the one server connection').toBe(1);
      else expect(pids.size).toBe(2);

      // RESET goes back to the value the client started with.
      await b.simple('RESET TimeZone');
      expect.soft((await read(b)).tz, 'b after RESET TimeZone').toBe(loginTz);
      expect.soft((await read(a)).tz, 'a after b’s RESET').toBe(A.TimeZone);

      // ParameterStatus: each client's latest reported values are its own, and it never got the other's.
      for (const [c, mine, other, name] of [
        [a, A, B, 'a'],
        [b, B, A, 'b'],
      ] as const) {
        const log = c.parameterLog.map(([k, v]) => `${k}=${v}`);
        expect.soft(c.params.get('application_name'), `client ${name}: ${log.join(', ')}`).toBe(mine.application_name);
        expect.soft(c.params.get('DateStyle'), `client ${name}: ${log.join(', ')}`).toBe(mine.DateStyle);
        for (const key of ['application_name', 'TimeZone', 'DateStyle'] as const) {
          expect.soft(log, `client ${name} got the other client's ${key}`).not.toContain(`${key}=${other[key]}`);
        }
      }
      expect.soft(a.params.get('TimeZone'), 'a’s last reported TimeZone').toBe(A.TimeZone);
      expect.soft(b.params.get('TimeZone'), 'b’s last reported TimeZone (after RESET)').toBe(loginTz);
    } finally {
      await endAll(clients);
    }
  });
});
