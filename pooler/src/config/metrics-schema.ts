// The metrics and health HTTP endpoint (docs/metrics.md): /metrics, /healthz, /readyz on a port of
// its own. Absent from the config = not started. Kept apart from schema.ts, which only plugs it in.
import { z } from 'zod';

export const METRICS_DEFAULT_PORT = 9127;

export const metricsSchema = z
  .object({
    /** Loopback by default: expose it (0.0.0.0) only where the scraper and the load balancer need it. */
    host: z.string().min(1).default('127.0.0.1'),
    /** 9127, the port PgBouncer exporters use; 0 picks a free port (tests). */
    port: z.number().int().min(0).max(65535).default(METRICS_DEFAULT_PORT),
  })
  .strict();

export type MetricsConfig = z.infer<typeof metricsSchema>;
