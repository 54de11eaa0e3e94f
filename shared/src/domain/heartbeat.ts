// A pooler's periodic report: which config version it has applied and per-tenant pool figures.
// The control plane reads them to tell when a change has reached the whole fleet.
import { z } from 'zod';
import { isoTimestampSchema, tenantIdSchema } from './common.ts';

export const poolFiguresSchema = z
  .object({
    clientsActive: z.number().int().nonnegative(),
    clientsWaiting: z.number().int().nonnegative(),
    serversActive: z.number().int().nonnegative(),
    serversIdle: z.number().int().nonnegative(),
  })
  .strict();
export type PoolFigures = z.infer<typeof poolFiguresSchema>;

export const poolerHeartbeatSchema = z
  .object({
    /** Stable id of the pooler process (e.g. hostname or instance id + port). */
    poolerId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/),
    /** EC2 instance id on AWS. */
    instanceId: z.string().min(1).optional(),
    appliedConfigVersion: z.number().int().nonnegative(),
    lastSeen: isoTimestampSchema,
    /** Figures per tenantId. */
    pools: z.record(tenantIdSchema, poolFiguresSchema).default({}),
  })
  .strict();
export type PoolerHeartbeat = z.infer<typeof poolerHeartbeatSchema>;
export type PoolerHeartbeatInput = z.input<typeof poolerHeartbeatSchema>;
