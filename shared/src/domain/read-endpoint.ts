// A tenant's read-only endpoint, the part the control plane and the pooler share
// (docs/read-endpoints.md).
//
// The client-facing form is a second DATABASE name, `<database>_ro`, with the tenant's own user
// and password. Not a second user name: an md5 verifier is md5(password || user) (PostgreSQL docs,
// "Password Authentication"), so a client logging in as `<user>-ro` would hash a different string
// and could not use the tenant's md5 verifier; the database name takes no part in either SCRAM or
// md5, so every driver logs in to the read endpoint with the same credentials.
import { z } from 'zod';

/** A client login (database, user); the same shape as tenant.ts ClientLogin (no import: tenant.ts imports this file). */
export interface ClientLogin {
  readonly database: string;
  readonly user: string;
}

export const READ_DATABASE_SUFFIX = '_ro';
/** The largest replica-lag bound: one hour (a reader further behind is for reports, not for a pooler). */
export const MAX_REPLICA_LAG_MS = 3_600_000;
export const DEFAULT_MAX_REPLICA_LAG_MS = 5000;
/** PostgreSQL's identifier limit (NAMEDATALEN - 1): the read database name must fit too. */
const MAX_NAME = 63;

export const readEndpointSchema = z
  .object({
    enabled: z.boolean(),
    maxReplicaLagMs: z
      .number()
      .int('must be a whole number of milliseconds')
      .min(0)
      .max(MAX_REPLICA_LAG_MS, `must be at most ${MAX_REPLICA_LAG_MS} ms (one hour)`)
      .default(DEFAULT_MAX_REPLICA_LAG_MS),
  })
  .strict();
export type ReadEndpoint = z.infer<typeof readEndpointSchema>;
export type ReadEndpointInput = z.input<typeof readEndpointSchema>;

/** The login a client uses for the read endpoint of the tenant whose login is `login`. */
export function readLoginOf(login: ClientLogin): ClientLogin {
  return { database: `${login.database}${READ_DATABASE_SUFFIX}`, user: login.user };
}

/** Why the read login of `login` cannot be a PostgreSQL name, or undefined. */
export function readLoginProblem(login: ClientLogin): string | undefined {
  const db = readLoginOf(login).database;
  return db.length > MAX_NAME ? `the read endpoint's database name "${db}" is longer than ${MAX_NAME} characters: shorten client.database` : undefined;
}
