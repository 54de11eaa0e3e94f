// The reset sent ahead of the next request (backend/reset-ahead.ts) is Parse/Bind/Execute of
// "DISCARD ALL" on the unnamed statement. The reset it replaces was a simple Query, which drops the
// unnamed statement (protocol docs, "Extended Query": a simple Query destroys it); the unnamed Parse
// leaves "DISCARD ALL" behind as the unnamed statement, for the next client to Bind or Describe.
// A client whose first request Binds the unnamed statement without a Parse must get PostgreSQL's
// answer on a fresh session (26000, the unnamed prepared statement does not exist), not run the
// pooler's DISCARD ALL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCARD_AHEAD } from '../../pooler/src/backend/reset-ahead.ts';
import { until } from '../helpers/clients.ts';
import { bind, describe as describeMsg, endAll, errorCodes, execute, ProtocolClient, query, summarizeAll, sync } from '../helpers/raw-protocol.ts';
import { startRecordedRig, type RecordedRig } from '../helpers/recording-proxy.ts';
import { poolerConn } from '../helpers/tenants.ts';

let rig: RecordedRig;

beforeAll(async () => {
  rig = await startRecordedRig('reset-ahead-unnamed');
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

const conn = () => poolerConn(rig.pooler, rig.tenant);

async function waiting(n: number): Promise<void> {
  await until(() => rig.pooler.poolStats().find((p) => p.tenantId === rig.tenant.id)?.clientsWaiting === n, 10_000, `${n} client(s) waiting`);
}

describe('after a reset sent ahead', () => {
  for (const [what, request] of [
    ['Bind', () => Buffer.concat([bind('', ''), execute(), sync()])],
    ['Describe', () => Buffer.concat([describeMsg('S', ''), sync()])],
  ] as const) {
    it(`the unnamed statement does not exist (${what} of it: 26000)`, async () => {
      const a = await ProtocolClient.connect(conn());
      const b = await ProtocolClient.connect(conn());
      try {
        await a.request(query('BEGIN'));
        const from = rig.proxy.log.length;
        const answer = b.request(request());
        await waiting(1);
        expect(errorCodes(await a.request(query('COMMIT')))).toEqual([]);
        const replies = await answer;
        expect(rig.proxy.log.slice(from).some((r) => r.dir === 'out' && r.bytes.includes(DISCARD_AHEAD)), 'the reset went ahead').toBe(true);
        expect(errorCodes(replies), summarizeAll(replies).join(' ')).toEqual(['26000']);
      } finally {
        await endAll([a, b]);
      }
    });
  }
});
