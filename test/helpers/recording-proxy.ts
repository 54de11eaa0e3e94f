// A TCP proxy between the pooler and PostgreSQL that records every chunk the pooler writes, in
// order, and can hold PostgreSQL's answers back for a while: what went to the server in which
// write, and what the pooler sends while an answer is late (backend/reset-ahead.ts tests).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { createTenant, poolerConfig, testLogger, type PoolSettingsInput, type TestTenant } from './tenants.ts';

export interface Recorded {
  /** Which proxied connection (0, 1, …, in the order they were accepted). */
  conn: number;
  /** 'out': pooler → PostgreSQL; 'in': PostgreSQL → pooler, when it was passed on. */
  dir: 'out' | 'in';
  bytes: Buffer;
}

export interface RecordingProxy {
  readonly port: number;
  readonly log: Recorded[];
  /**
   * While set: after a pooler write that `when` matches, PostgreSQL's answers on that connection are
   * held back for `ms` before they are passed on (in order).
   */
  holdAnswers: { when: (bytes: Buffer) => boolean; ms: number } | null;
  close(): void;
}

export async function startRecordingProxy(target: { host: string; port: number }): Promise<RecordingProxy> {
  const sockets = new Set<Socket>();
  const log: Recorded[] = [];
  let accepted = 0;
  const proxy: RecordingProxy = {
    port: 0,
    log,
    holdAnswers: null,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  const server: Server = createServer((inbound) => {
    const conn = accepted++;
    sockets.add(inbound);
    inbound.setNoDelay(true);
    inbound.pause();
    let heldUntil = 0;
    const out = connect({ host: target.host, port: target.port }, () => {
      out.setNoDelay(true);
      inbound.resume();
    });
    sockets.add(out);
    inbound.on('data', (bytes: Buffer) => {
      log.push({ conn, dir: 'out', bytes });
      const hold = proxy.holdAnswers;
      if (hold !== null && hold.when(bytes)) heldUntil = Date.now() + hold.ms;
      out.write(bytes);
    });
    // Answers keep their order: each waits for the one before it (a chain of timers).
    let chain = Promise.resolve();
    out.on('data', (bytes: Buffer) => {
      const wait = heldUntil - Date.now();
      chain = chain.then(async () => {
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        log.push({ conn, dir: 'in', bytes });
        if (!inbound.destroyed) inbound.write(bytes);
      });
    });
    inbound.on('error', () => out.destroy());
    out.on('error', () => inbound.destroy());
    inbound.on('close', () => out.destroy());
    out.on('close', () => void chain.then(() => inbound.destroy()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (proxy as { port: number }).port = (server.address() as { port: number }).port;
  return proxy;
}

/** One PostgreSQL, a recording proxy in front of it, and an in-process pooler with one transaction-mode tenant behind the proxy. */
export interface RecordedRig {
  pg: PostgresServer;
  proxy: RecordingProxy;
  pooler: Pooler;
  tenant: TestTenant;
  stop(): Promise<void>;
}

export async function startRecordedRig(tenantId: string, pool: PoolSettingsInput = {}): Promise<RecordedRig> {
  const pg = await startPostgres();
  const proxy = await startRecordingProxy(pg);
  const base = await createTenant(pg, { id: tenantId, pool: { mode: 'transaction', size: 1, ...pool } });
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
