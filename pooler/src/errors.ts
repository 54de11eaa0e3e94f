// Errors the pooler reports to clients. Each has a stable `code` (for logs, metrics and docs), the
// SQLSTATE the client sees (PostgreSQL docs, Appendix A) and whether the client's session survives
// (ErrorResponse + ReadyForQuery) or ends (FATAL, then the connection is closed).
// docs/errors.md lists them.

export const errorCatalog = {
  PROTOCOL_VIOLATION: { sqlstate: '08P01', fatal: true },
  AUTH_FAILED: { sqlstate: '28P01', fatal: true },
  AUTH_METHOD_UNSUPPORTED: { sqlstate: '28000', fatal: true },
  /** Plaintext start-up on a listener with tls.mode require (PostgreSQL/PgBouncer: "SSL required"). */
  SSL_REQUIRED: { sqlstate: '28000', fatal: true },
  TENANT_SUSPENDED: { sqlstate: '57P03', fatal: true },
  TENANT_REMOVED: { sqlstate: '57P01', fatal: true },
  TOO_MANY_CLIENTS: { sqlstate: '53300', fatal: true },
  CHECKOUT_TIMEOUT: { sqlstate: '53300', fatal: false },
  SERVER_CONNECT_FAILED: { sqlstate: '08006', fatal: false },
  /** The destination's verifier asks for more SCRAM iterations than limits.max_server_scram_iterations. */
  SERVER_SCRAM_ITERATIONS: { sqlstate: '08004', fatal: false },
  SERVER_LOST: { sqlstate: '08006', fatal: true },
  FEATURE_NOT_SUPPORTED: { sqlstate: '0A000', fatal: true },
  SHUTTING_DOWN: { sqlstate: '57P01', fatal: true },
  STARTUP_TIMEOUT: { sqlstate: '08P01', fatal: true },
  QUERY_TIMEOUT: { sqlstate: '57014', fatal: false },
  IDLE_IN_TRANSACTION_TIMEOUT: { sqlstate: '25P03', fatal: true },
  CLIENT_IDLE_TIMEOUT: { sqlstate: '57P05', fatal: true },
  /** configuration_limit_exceeded: a configured budget, not the machine's memory, ran out. */
  PREPARED_STATEMENTS_BUDGET: { sqlstate: '53400', fatal: false },
} as const;

export type PoolerErrorCode = keyof typeof errorCatalog;

export class PoolerError extends Error {
  readonly code: PoolerErrorCode;
  readonly sqlstate: string;
  readonly fatal: boolean;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(code: PoolerErrorCode, message: string, opts: { detail?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PoolerError';
    this.code = code;
    this.sqlstate = errorCatalog[code].sqlstate;
    this.fatal = errorCatalog[code].fatal;
    this.detail = opts.detail;
    this.hint = opts.hint;
  }
}

/** Why a client or server connection ended: one enum feeding logs and metrics. */
export const disconnectReasons = [
  'client_close',
  'client_terminate',
  'protocol_violation',
  'auth_failed',
  'tenant_unknown',
  'tenant_suspended',
  'tenant_removed',
  'too_many_clients',
  'server_lost',
  'server_error',
  'idle_timeout',
  'lifetime',
  'reset_failed',
  'unclean_release',
  'shutdown',
  'connect_failed',
  'unsupported_feature',
  'startup_timeout',
  'idle_in_transaction_timeout',
  'client_idle_timeout',
  'target_changed',
  /** The server refused one of the client's session parameters (start-up value or replayed SET). */
  'invalid_parameter',
] as const;
export type DisconnectReason = (typeof disconnectReasons)[number];
