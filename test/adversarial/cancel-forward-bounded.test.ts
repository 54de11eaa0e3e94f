// A CancelRequest costs its sender one small packet and needs no login, and a pooler passes a
// cancel for another node's key on to that peer. A flood of such requests must not turn the pooler
// into an amplifier that opens an unbounded number of connections to a peer (or to whatever a
// stale address now points at): at most MAX_PEER_CANCELS_IN_FLIGHT forwards are open at once,
// MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER to one peer, and requests beyond that are answered (closed)
// at once, without a connection.
//
// The peer here is a black hole that accepts connections and never answers, so every forward
// stays open until the pooler's own 5 s cancel timeout.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_PEER_CANCELS_IN_FLIGHT, MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER } from '../../pooler/src/cancel-router.ts';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { cancelRequest } from '../../pooler/src/net/messages.ts';
import { until } from '../helpers/clients.ts';
import { poolerConfig } from '../helpers/tenants.ts';

const FLOOD = MAX_PEER_CANCELS_IN_FLIGHT + 300;

let blackHole: Server;
const held = new Set<Socket>();
let open = 0;
let maxOpen = 0;
let pooler: Pooler;
/** A healthy peer (node 3): records the CancelRequests it gets and closes at once. */
let healthy: Server;
const healthyGot: number[] = [];

beforeAll(async () => {
  blackHole = createServer({ allowHalfOpen: true }, (s) => {
    held.add(s);
    maxOpen = Math.max(maxOpen, ++open);
    s.on('error', () => undefined);
    s.once('close', () => {
      open--;
      held.delete(s);
    });
  });
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  const port = (blackHole.address() as { port: number }).port;
  healthy = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      if (d.length >= 16) healthyGot.push(d.readInt32BE(8));
      s.destroy();
    });
  });
  await new Promise<void>((r) => healthy.listen(0, '127.0.0.1', r));
  const healthyPort = (healthy.address() as { port: number }).port;
  pooler = await startPooler(
    poolerConfig([], {
      cluster: {
        node_id: 1,
        peers: [
          { node_id: 2, host: '127.0.0.1', port },
          { node_id: 3, host: '127.0.0.1', port: healthyPort },
        ],
      },
    }),
  );
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => blackHole?.close(r));
  await new Promise((r) => healthy?.close(r));
  await pooler?.close(0);
});

/** Sends a CancelRequest; resolves when the pooler closes the connection. */
function cancelVia(port: number, processId: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(cancelRequest(processId, 12345)));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.resume();
  });
}

it(`keeps at most ${MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER} cancels in flight to a peer under a flood of ${FLOOD}, answering the rest at once`, async () => {
  const node2 = (2 << 20) | 1;
  let answered = 0;
  const all = Array.from({ length: FLOOD }, (_, i) => cancelVia(pooler.port, node2 + i).then(() => answered++));
  // The requests over the cap are closed without waiting for anything.
  await until(() => answered >= FLOOD - MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER, 30_000, 'the requests over the cap to be answered');
  expect(maxOpen).toBeLessThanOrEqual(MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER);
  expect(maxOpen).toBeGreaterThan(0);
  // The peer answers at last: the forwarded ones complete and the pooler serves on.
  for (const s of held) s.destroy();
  await Promise.all(all);
  expect(maxOpen).toBeLessThanOrEqual(MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER);
});

// A peer that does not answer (an instance gone within the directory's 10-minute grace: its
// address black-holes the SYN) must not take the cancels of every other peer down with it.
it('keeps forwarding to a healthy peer while a flood of cancels for a dead peer holds its forwards open', async () => {
  const node2 = (2 << 20) | 1;
  let answered = 0;
  const flood = Array.from({ length: FLOOD }, (_, i) => cancelVia(pooler.port, node2 + i).then(() => answered++));
  await until(() => answered >= FLOOD - MAX_PEER_CANCELS_IN_FLIGHT_PER_PEER, 30_000, 'the requests over the cap to be answered');
  await until(() => open > 0, 30_000, 'forwards to the dead peer to be open');
  const node3 = (3 << 20) | 77;
  await cancelVia(pooler.port, node3);
  expect(healthyGot).toContain(node3);
  for (const s of held) s.destroy();
  await Promise.all(flood);
});
