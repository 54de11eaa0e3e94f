// A tenant's read-only endpoint (docs/read-endpoints.md): clients that log in
// with the database name `<database>_ro` (READ_DATABASE_SUFFIX) and the tenant's user and password
// get transactions on the cluster's readers, each within `max_replica_lag_ms` of the writer, and
// the writer when none qualifies (backend/reader-router.ts).
import { z } from 'zod';
import { READ_DATABASE_SUFFIX, MAX_REPLICA_LAG_MS } from '../../../shared/src/domain/read-endpoint.ts';

export { READ_DATABASE_SUFFIX, MAX_REPLICA_LAG_MS };

export const readEndpointSchema = z
  .object({
    /** The readers (host, port); the local and AWS sources fill them from the cluster's published targets. */
    readers: z
      .array(z.object({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65535) }).strict())
      .max(64)
      .default([]),
    /** Readers whose measured replica lag is above this many milliseconds get no transactions. */
    max_replica_lag_ms: z.number().int().min(0).max(MAX_REPLICA_LAG_MS).default(5000),
  })
  .strict();

export type ReadEndpointConfig = z.infer<typeof readEndpointSchema>;
