// Hostile tenant, LISTEN storm (docs/transaction-mode.md, "LISTEN and NOTIFY"): many clients of a
// tenant with a pool of 2 each LISTEN on many channels, at once. The pooler opens exactly one
// listening server connection for all of them (never one per client or per channel): the tenant's
// backends on PostgreSQL stay within pool size + 1, and every client still gets its notifications.
// A client past the per-client channel limit gets ERROR 53400 and its session goes on.
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { MAX_CLIENT_CHANNELS } from '../../pooler/src/frontend/notify-client.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from '../helpers/clients.ts';
import { destinationBackendPids } from '../helpers/backends.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-storm', ['t'], { size: 2, max_clients: 100 });
const CLIENTS = 30;
const CHANNELS = 20;

describe('transaction mode, pool size 2', () => {
  it(`${CLIENTS} clients × ${CHANNELS} channels LISTEN at once: one listening connection`, async () => {
    const t = rig.tenants.t!;
    const clients: pg.Client[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) clients.push(await connectPg(rig.pooled(t)));
      const got = clients.map((c) => recordNotifications(c));
      let most = 0;
      const watch = setInterval(() => void destinationBackendPids(rig.pg, t).then((p) => (most = Math.max(most, p.length))), 20);
      try {
        await Promise.all(clients.map((c, i) => Promise.all(Array.from({ length: CHANNELS }, (_, k) => c.query(`LISTEN ch_${(i + k) % (CHANNELS * 2)}`)))));
        most = Math.max(most, (await destinationBackendPids(rig.pg, t)).length);
      } finally {
        clearInterval(watch);
      }
      expect(most).toBeLessThanOrEqual(3);
      expect(rig.pooler.listener(t.id)!.connects).toBe(1);
      // Every client hears the channel it listens on.
      await notifyVia(rig.direct(t), 'ch_0', 'hello');
      for (let i = 0; i < CLIENTS; i++) {
        const listens = Array.from({ length: CHANNELS }, (_, k) => (i + k) % (CHANNELS * 2)).includes(0);
        if (listens) await untilNotified(got[i]!, 1, `client ${i}`);
      }
      expect(got.filter((g) => g.length === 1).length).toBeGreaterThan(0);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });

  it(`a client past ${MAX_CLIENT_CHANNELS} channels gets 53400, and goes on`, async () => {
    const c = await connectPg(rig.pooled(rig.tenants.t!));
    try {
      // One Query string per statement, pipelined by node-postgres.
      await Promise.all(Array.from({ length: MAX_CLIENT_CHANNELS }, (_, k) => c.query(`LISTEN many_${k}`)));
      const err = pgErrorInfo(await rejectionOf(c.query('LISTEN one_too_many')));
      expect(err.code).toBe('53400');
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      // Inside a transaction the refusal fails the block, as an error would on PostgreSQL.
      await c.query('BEGIN');
      expect(pgErrorInfo(await rejectionOf(c.query('LISTEN one_too_many')))).toMatchObject({ code: '53400' });
      expect(pgErrorInfo(await rejectionOf(c.query('SELECT 1'))).code).toBe('25P02');
      await c.query('ROLLBACK');
    } finally {
      await endQuietly(c);
    }
  });
});
