// Execute / Describe of the unnamed portal when no Bind created one.
//
// Protocol docs, "Extended Query": "the unnamed portal is destroyed at the end of the transaction,
// or as soon as the next Bind message specifying the unnamed portal as destination is issued ...
// a simple Query message also destroys the unnamed portal". PostgreSQL 15 does not always honour
// that: after a failed ROLLBACK TO SAVEPOINT the unnamed portal of that Query stays in the portal
// table with its memory freed, and an Execute or Describe of '' then crashes the backend (SIGSEGV),
// which makes the postmaster restart every backend of the server: every tenant on it.
//
// A failed Bind to '' leaves such a dangling portal in place too (a Bind in a failed transaction,
// or of a statement that does not exist, fails before it replaces the unnamed portal), and the
// pooler cannot know at the time whether a Bind succeeded. So it tracks, per client, a Bind to ''
// since the last simple Query (or since it got its server connection: in transaction mode a
// connection changes hands only between transactions, which end every portal):
// - in the same Sync batch (PORTAL_BATCH): safe, as a failed Bind makes the server skip to Sync;
// - before a Sync (PORTAL_EARLIER): safe only once every earlier request has its reply and the
//   transaction is still healthy ('T'), which proves the Bind succeeded. Else (a client that
//   pipelines past the Sync, or a failed transaction, where PostgreSQL would refuse it anyway with
//   25P02) it counts as no portal.
// When no portal is known, such a message never reaches the server as is:
// it goes as a Parse the server refuses with a syntax error (42601) without touching any portal, so
// the transaction state and the skip to Sync are the server's own, and the client gets what a
// correct PostgreSQL says instead: 34000 portal "" does not exist.
import * as codes from '../net/codes.ts';
import { encodeParse } from '../net/extended.ts';
import * as msg from '../net/messages.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
const FE_DESCRIBE = codes.FE_DESCRIBE;
const FE_EXECUTE = codes.FE_EXECUTE;
const TARGET_PORTAL = codes.TARGET_PORTAL;
const TX_IN_BLOCK = codes.TX_IN_BLOCK;

/** No Bind to '' known to have created the unnamed portal. */
export const PORTAL_NONE = 0;
/** A Bind to '' earlier in the current Sync batch. */
export const PORTAL_BATCH = 1;
/** A Bind to '' before a Sync since. */
export const PORTAL_EARLIER = 2;

/**
 * Whether an Execute/Describe of '' may go to the server: `pending` is the number of Query/Sync
 * requests still without their ReadyForQuery, `txStatus` the last ReadyForQuery's status.
 */
export function unnamedPortalSafe(state: number, pending: number, txStatus: number): boolean {
  return state === PORTAL_BATCH || (state === PORTAL_EARLIER && pending === 0 && txStatus === TX_IN_BLOCK);
}

/** The query text of the stand-in Parse: what the server's log shows, and how its error is known. */
export const PORTAL_GONE_MARK = 'SWITCHYARD_NO_UNNAMED_PORTAL';

/** Named, so the client's unnamed statement stays; it fails before anything is defined. */
export const PORTAL_GONE_PARSE = encodeParse('sy_no_portal', Buffer.from(`${PORTAL_GONE_MARK}\0\0\0`, 'latin1'));

/** What PostgreSQL answers for an Execute or Describe of a portal that does not exist. */
export const PORTAL_GONE_ERROR = msg.errorResponse({ severity: 'ERROR', code: '34000', message: 'portal "" does not exist' });

/**
 * Whether a client message is an Execute or Describe (portal) of the unnamed portal, from its
 * type, first body byte and length field (what the scanner sees). Execute '' is 9 bytes (name NUL,
 * Int32 maxRows), Describe 'P' '' is 6; any other length the server refuses as malformed before it
 * looks the portal up.
 */
export function targetsUnnamedPortal(type: number, first: number, length: number): boolean {
  return type === FE_EXECUTE ? first === 0 && length === 9 : type === FE_DESCRIBE && first === TARGET_PORTAL && length === 6;
}

/** The server's refusal of PORTAL_GONE_PARSE. */
export function isPortalGoneRefusal(fields: Record<string, string>): boolean {
  return fields.C === '42601' && fields.M !== undefined && fields.M.includes(PORTAL_GONE_MARK);
}
