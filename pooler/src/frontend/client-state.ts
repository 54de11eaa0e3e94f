// The states of a logged-in client connection (frontend/client.ts), as PgBouncer keeps explicit
// client states (client.c: CL_LOGIN, CL_WAITING, CL_ACTIVE ...). Which state a client is in decides
// what its input means; ClientConnection.onClientData is the one switch that says so (PgBouncer's
// client_proto), and ClientConnection.enter the one place a state changes.
//
//   LOGGING_IN ──login done──▶ IDLE ──bytes to forward──▶ WAITING ──server linked──▶ ACTIVE
//                               ▲  ▲                        │                          │
//                               │  └──checkout failed───────┘                          │
//                               ├───────────── released (ReadyForQuery 'I') ◀──────────┤
//                               ├───────────── server lost between transactions ◀──────┤
//                               └── block ended ── LOST ◀── server lost in a transaction
//   any state ──▶ CLOSED
//
// A pending close (ClientConnection.closeAtBoundary during a transaction) is not a state: the
// client goes on in its state and is closed at the next boundary. Whether a client uses named
// prepared statements (frontend/prepared-session.ts) is a mode, not a state: it changes how
// IDLE/WAITING/ACTIVE input is framed, not what the state accepts. COPY is not tracked: CopyData
// passes wherever other messages pass, and the server answers COPY sub-protocol errors itself.
//
// Plain numbers (Node's type stripping has no enums); the hot path compares them per chunk.

/** Start-up and authentication (frontend/login.ts); the tenant route is not known yet. */
export const LOGGING_IN = 0;
/** Between transactions with no server connection: input goes to the pool queue (→ WAITING). */
export const IDLE = 1;
/** Asked the pool for a server connection; input is queued (bounded by INPUT_HIGH_WATER). */
export const WAITING = 2;
/** Holds a server connection: input is forwarded, replies are inspected and passed back. */
export const ACTIVE = 3;
/** Inside a transaction whose server connection died: the pooler answers (lost-transaction.ts). */
export const LOST = 4;
/** Closed: input and late callbacks are ignored. */
export const CLOSED = 5;

export type ClientState = typeof LOGGING_IN | typeof IDLE | typeof WAITING | typeof ACTIVE | typeof LOST | typeof CLOSED;

/**
 * What a server chunk did, as an ACTIVE client's fast path (fast-path.ts) or prepared session
 * (prepared-session.ts) reports it: it could not be scanned (the server connection was closed), it
 * was passed to the client, or it was passed and ended the transaction at a boundary (the server
 * connection goes back to the pool now).
 */
export const SERVER_BROKEN = 0;
export const CHUNK_PASSED = 1;
export const RELEASE_DUE = 2;

const NAMES = ['logging-in', 'idle', 'waiting', 'active', 'lost-transaction', 'closed'] as const;

export function stateName(s: ClientState): (typeof NAMES)[number] {
  return NAMES[s];
}

const bit = (s: ClientState): number => 1 << s;

/** For each state, the states it may be entered from (the diagram above). */
const ENTERED_FROM: readonly number[] = [
  /* LOGGING_IN */ 0,
  /* IDLE */ bit(LOGGING_IN) | bit(WAITING) | bit(ACTIVE) | bit(LOST),
  /* WAITING */ bit(IDLE),
  /* ACTIVE */ bit(WAITING),
  /* LOST */ bit(ACTIVE),
  /* CLOSED */ bit(LOGGING_IN) | bit(IDLE) | bit(WAITING) | bit(ACTIVE) | bit(LOST),
];

/** Whether a client may go from state `from` to state `to`. */
export function mayEnter(from: ClientState, to: ClientState): boolean {
  return (ENTERED_FROM[to]! & bit(from)) !== 0;
}
