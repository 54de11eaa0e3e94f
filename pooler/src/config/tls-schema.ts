// TLS settings of the configuration file (docs/tls.md): one block for the client-facing listener
// (`listen.tls`) and one per destination (`tenants[].target.tls`). Kept apart from schema.ts so
// the TLS rules live in one place; schema.ts only plugs them in.
import { z } from 'zod';

/**
 * Client side, per listener. PgBouncer's client_tls_sslmode vocabulary, reduced to what a server
 * can enforce: `disable` answers 'N' to SSLRequest, `allow` accepts TLS and plaintext, `require`
 * refuses a plaintext StartupMessage with FATAL 28000 "SSL required".
 */
export const listenTlsSchema = z
  .object({
    mode: z.enum(['disable', 'allow', 'require']).default('disable'),
    /** PEM certificate (chain) presented to clients; relative paths resolve against the config file's directory. */
    cert_file: z.string().min(1).optional(),
    /** PEM private key of cert_file. */
    key_file: z.string().min(1).optional(),
    /** Extra PEM CA certificates used to complete the chain sent to clients (client certificates are not requested). */
    ca_file: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if (tls.mode === 'disable') return;
    for (const key of ['cert_file', 'key_file'] as const) {
      if (tls[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `required when mode is "${tls.mode}"` });
    }
  });

/**
 * Server side, per target: libpq's sslmode semantics (libpq docs, "SSL Support", table "SSL Mode
 * Descriptions"). `disable` is the default so the local dev stack (plain PostgreSQL) works out of
 * the box; RDS/Aurora targets should use `verify-full` with the RDS CA bundle as ca_file.
 */
export const targetTlsSchema = z
  .object({
    mode: z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('disable'),
    /**
     * PEM CA bundle the server certificate must chain to. Without it, verify-ca/verify-full use
     * Node's built-in public roots (like libpq's sslrootcert=system); with it, `require` verifies
     * the chain too (libpq does the same when a root certificate file is present).
     */
    ca_file: z.string().min(1).optional(),
  })
  .strict();

export type ListenTlsConfig = z.infer<typeof listenTlsSchema>;
export type TargetTlsConfig = z.infer<typeof targetTlsSchema>;
export type ClientTlsMode = ListenTlsConfig['mode'];
export type ServerTlsMode = TargetTlsConfig['mode'];
