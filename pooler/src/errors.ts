// Errors the pooler reports to clients. Each has a stable `code` (for logs, metrics and docs), the
// SQLSTATE the client sees (PostgreSQL docs, Appendix A), whether the client's session survives
// (ErrorResponse + ReadyForQuery) or ends (FATAL, then the connection is closed), and the
// disconnect reason a client ended by it is counted under (`switchyard_client_disconnects_total`);
// an ERROR ends a client only at login, and `null` marks the errors that never end one.
// docs/errors.md lists them.

export const errorCatalog = {
  PROTOCOL_VIOLATION: { sqlstate: '08P01', fatal: true, reason: 'protocol_violation' },
  AUTH_FAILED: { sqlstate: '28P01', fatal: true, reason: 'auth_failed' },
  AUTH_METHOD_UNSUPPORTED: { sqlstate: '28000', fatal: true, reason: 'auth_failed' },
  /** Plaintext start-up on a listener with tls.mode require (PostgreSQL/PgBouncer: "SSL required"). */
  SSL_REQUIRED: { sqlstate: '28000', fatal: true, reason: 'auth_failed' },
  TENANT_SUSPENDED: { sqlstate: '57P03', fatal: true, reason: 'tenant_suspended' },
  TENANT_REMOVED: { sqlstate: '57P01', fatal: true, reason: 'tenant_removed' },
  TOO_MANY_CLIENTS: { sqlstate: '53300', fatal: true, reason: 'too_many_clients' },
  CHECKOUT_TIMEOUT: { sqlstate: '53300', fatal: false, reason: 'connect_failed' },
  SERVER_CONNECT_FAILED: { sqlstate: '08006', fatal: false, reason: 'connect_failed' },
  /** The destination's verifier asks for more SCRAM iterations than limits.max_server_scram_iterations. */
  SERVER_SCRAM_ITERATIONS: { sqlstate: '08004', fatal: false, reason: 'connect_failed' },
  SERVER_LOST: { sqlstate: '08006', fatal: true, reason: 'server_lost' },
  FEATURE_NOT_SUPPORTED: { sqlstate: '0A000', fatal: true, reason: 'unsupported_feature' },
  SHUTTING_DOWN: { sqlstate: '57P01', fatal: true, reason: 'shutdown' },
  STARTUP_TIMEOUT: { sqlstate: '08P01', fatal: true, reason: 'startup_timeout' },
  QUERY_TIMEOUT: { sqlstate: '57014', fatal: false, reason: null },
  IDLE_IN_TRANSACTION_TIMEOUT: { sqlstate: '25P03', fatal: true, reason: 'idle_in_transaction_timeout' },
  CLIENT_IDLE_TIMEOUT: { sqlstate: '57P05', fatal: true, reason: 'client_idle_timeout' },
  /** configuration_limit_exceeded: a configured budget, not the machine's memory, ran out. */
  PREPARED_STATEMENTS_BUDGET: { sqlstate: '53400', fatal: false, reason: null },
  /** Transaction mode: an EXECUTE the pooler cannot map to a server-side statement (frontend/sql-prepare.ts). */
  SQL_PREPARE_NOT_MAPPED: { sqlstate: '0A000', fatal: false, reason: null },
  /** More session settings than a client may keep in transaction mode (frontend/session-settings.ts). */
  SESSION_SETTINGS_LIMIT: { sqlstate: '53400', fatal: true, reason: 'invalid_parameter' },
  /** A client's state needs a pinned server connection and the tenant's max_pinned are taken (frontend/pin.ts). */
  TOO_MANY_PINNED: { sqlstate: '53400', fatal: true, reason: 'too_many_pinned' },
  /** LISTEN in transaction mode: past the channels allowed per client or per tenant (backend/listener.ts). */
  LISTEN_CHANNEL_LIMIT: { sqlstate: '53400', fatal: false, reason: null },
  /** name_too_long: a LISTEN channel of NAMEDATALEN bytes or more (PostgreSQL would truncate it). */
  LISTEN_CHANNEL_NAME_TOO_LONG: { sqlstate: '42622', fatal: false, reason: null },
  /** The tenant's listening connection cannot be opened (or not within checkout_timeout). */
  LISTEN_UNAVAILABLE: { sqlstate: '08006', fatal: false, reason: null },
} as const satisfies Record<string, { sqlstate: string; fatal: boolean; reason: DisconnectReason | null }>;

export type PoolerErrorCode = keyof typeof errorCatalog;

/** The catalogue's disconnect reason of `C`: a DisconnectReason, or null for an ERROR that never ends a client. */
type ReasonOf<C extends PoolerErrorCode> = (typeof errorCatalog)[C]['reason'];

export class PoolerError<C extends PoolerErrorCode = PoolerErrorCode> extends Error {
  readonly code: C;
  readonly sqlstate: string;
  readonly fatal: boolean;
  /** What a client this error ends is counted as: the catalogue's, unless the raiser knows better (`opts.reason`). */
  readonly reason: ReasonOf<C> | DisconnectReason;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(code: C, message: string, opts: { detail?: string; hint?: string; cause?: unknown; reason?: DisconnectReason } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PoolerError';
    this.code = code;
    const entry = errorCatalog[code];
    this.sqlstate = entry.sqlstate;
    this.fatal = entry.fatal;
    this.reason = opts.reason ?? (entry.reason as ReasonOf<C>);
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
  /** This pooler's share of the fleet budgets went down (docs/fleet.md). */
  'lease_lowered',
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
  /** Its session state needed a pinned server connection past the tenant's max_pinned. */
  'too_many_pinned',
] as const;
export type DisconnectReason = (typeof disconnectReasons)[number];
