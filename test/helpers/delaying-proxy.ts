// A TCP proxy in front of PostgreSQL that, once armed (`delayMs` > 0), holds each NEW connection
// for that long before connecting it through. With the pool's server connections opened before it
// is armed, only CancelRequests (each on a connection of its own) are delayed: a cancel that
// arrives late, as over a busy postmaster or a slow network.
// Half-open both ways: the proxy closes the client's side only once PostgreSQL closed its own (a
// CancelRequest is delivered when the server closes its connection).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { createTenant, poolerConfig, testLogger, type TestTenant } from './tenants.ts';

export interface DelayingProxy {
  readonly port: number;
  delayMs: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): void;
}

export async function startDelayingProxy(target: { host: string; port: number }): Promise<DelayingProxy> {
  const sockets = new Set<Socket>();
  const state = { delayMs: 0, accepted: 0 };
  const server: Server = createServer({ allowHalfOpen: true }, (inbound) => {
    sockets.add(inbound);
    state.accepted++;
    inbound.on('error', () => undefined);
    inbound.pause();
    setTimeout(() => {
      const out = connect({ host: target.host, port: target.port, allowHalfOpen: true }, () => {
        inbound.pipe(out);
        out.pipe(inbound);
        inbound.resume();
      });
      sockets.add(out);
      out.on('error', () => inbound.destroy());
      inbound.on('close', () => out.destroy());
      out.on('close', () => inbound.destroy());
    }, state.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return state.accepted;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** One PostgreSQL, a delaying proxy in front of it, and an in-process pooler with one tenant (pool size 1) behind the proxy. */
export interface DelayedCancelRig {
  pg: PostgresServer;
  proxy: DelayingProxy;
  pooler: Pooler;
  tenant: TestTenant;
  stop(): Promise<void>;
}

export async function startDelayedCancelRig(tenantId: string): Promise<DelayedCancelRig> {
  const pg = await startPostgres();
  const proxy = await startDelayingProxy(pg);
  const base = await createTenant(pg, { id: tenantId, pool: { mode: 'transaction', size: 1 } });
  const tenant = { ...base, config: { ...base.config, target: { ...base.config.target!, host: '127.0.0.1', port: proxy.port } } };
  const pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
  return {
    pg,
    proxy,
    pooler,
    tenant,
    async stop() {
      await pooler.close();
      proxy.close();
      await pg.stop();
    },
  };
}
