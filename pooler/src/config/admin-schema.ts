// The admin console's users (docs/admin.md): who may log into the virtual databases `switchyard`
// and `pgbouncer`. Like tenants, an admin user is stored as a PostgreSQL-format verifier (SCRAM-
// SHA-256 or md5 over password || user name; `switchyard verifier` prints one), never a password.
// Kept apart from schema.ts, which only plugs it in.
import { z } from 'zod';
import { isVerifier } from '../../../shared/src/auth/verifier.ts';

export const adminUserSchema = z
  .object({
    user: z.string().min(1),
    /** SCRAM-SHA-256$... or md5...; list the same user twice during a password rotation. */
    verifier: z.string().refine(isVerifier, 'not a PostgreSQL SCRAM-SHA-256 or md5 verifier'),
  })
  .strict();

export const adminSchema = z
  .object({
    /** Empty (the default): the console exists but nobody can log in. */
    users: z.array(adminUserSchema).default([]),
  })
  .strict();

export type AdminConfig = z.infer<typeof adminSchema>;
