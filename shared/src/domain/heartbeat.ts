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

/**
 * Statement shapes in a heartbeat (GET /tenants/{id}/statements, docs/admin.md "Statement shapes"):
 * per tenant the pooler's heaviest normalized texts (literals already replaced by ?), at most
 * HEARTBEAT_SHAPES_PER_TENANT per tenant and HEARTBEAT_SHAPES_TOTAL in all, each text at most
 * HEARTBEAT_SHAPE_TEXT_BYTES UTF-8 bytes, so the DynamoDB item (400 KB at most) stays small: the
 * worst case is measured in heartbeat-size.test.ts.
 */
export const HEARTBEAT_SHAPES_PER_TENANT = 10;
export const HEARTBEAT_SHAPES_TOTAL = 200;
export const HEARTBEAT_SHAPE_TEXT_BYTES = 500;

export const statementShapeSchema = z
  .object({
    /** The normalized text, cut to HEARTBEAT_SHAPE_TEXT_BYTES (a cut text ends with …). */
    text: z.string().min(1).refine((t) => Buffer.byteLength(t, 'utf8') <= HEARTBEAT_SHAPE_TEXT_BYTES, `at most ${HEARTBEAT_SHAPE_TEXT_BYTES} bytes`),
    calls: z.number().int().nonnegative(),
    /** Query time, milliseconds (docs/metrics.md "Latency"). */
    totalMs: z.number().nonnegative(),
    maxMs: z.number().nonnegative(),
  })
  .strict();
export type StatementShape = z.infer<typeof statementShapeSchema>;

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
    /** Statement shapes per tenantId, most total time first (absent from poolers before them). */
    statements: z
      .record(tenantIdSchema, z.array(statementShapeSchema).max(HEARTBEAT_SHAPES_PER_TENANT))
      .default({})
      .refine((s) => Object.values(s).reduce((n, l) => n + l.length, 0) <= HEARTBEAT_SHAPES_TOTAL, `at most ${HEARTBEAT_SHAPES_TOTAL} statement shapes in all`),
    /** Since when the statement figures count: the pooler's (worker's) start; they restart with it. */
    statsSince: isoTimestampSchema.optional(),
  })
  .strict();
export type PoolerHeartbeat = z.infer<typeof poolerHeartbeatSchema>;
export type PoolerHeartbeatInput = z.input<typeof poolerHeartbeatSchema>;

/** `text` cut to at most `max` UTF-8 bytes on a character boundary, ending with … when cut. */
export function cutUtf8(text: string, max: number = HEARTBEAT_SHAPE_TEXT_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const buf = Buffer.from(text, 'utf8');
  let end = max - 3; // room for … (3 bytes)
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return `${buf.toString('utf8', 0, end)}…`;
}
