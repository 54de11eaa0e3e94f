// The metrics and health HTTP endpoint, on its own port (config `metrics`), separate from the
// PostgreSQL listener:
//   GET /metrics  Prometheus text exposition (docs/metrics.md)
//   GET /healthz  200 while the process runs (liveness)
//   GET /readyz   200 while the pooler listens and is not draining, else 503 (readiness: a load
//                 balancer stops sending new connections during a drain)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

export interface MetricsHttpOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** A registry, or anything that renders one (the supervisor of `--workers N` merges its workers': cluster/machine-metrics.ts). */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Readiness: listening and not draining. */
  ready(): boolean;
  log: Logger;
}

export class MetricsHttpServer {
  private readonly server: Server;
  private readonly opts: MetricsHttpOptions;

  private constructor(opts: MetricsHttpOptions) {
    this.opts = opts;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        opts.log.error({ err: (err as Error).message }, 'metrics request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    });
    // Scrapers keep connections alive; do not let one hold close() open.
    this.server.keepAliveTimeout = 5000;
  }

  static start(opts: MetricsHttpOptions): Promise<MetricsHttpServer> {
    const s = new MetricsHttpServer(opts);
    return new Promise((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.host, () => {
        s.server.removeListener('error', reject);
        s.server.on('error', (err) => opts.log.error({ err: err.message }, 'metrics listener error'));
        opts.log.info({ host: opts.host, port: s.port }, 'metrics listening');
        resolve(s);
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0];
    switch (path) {
      case '/metrics': {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ok\n');
        return;
      case '/readyz': {
        const ready = this.opts.ready();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(ready ? 'ready\n' : 'not ready: draining or not listening\n');
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
