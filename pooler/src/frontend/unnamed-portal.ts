// Execute / Describe of the unnamed portal when no Bind created one.
//
// Protocol docs, "Extended Query": "the unnamed portal is destroyed at the end of the transaction,
// or as soon as the next Bind message specifying the unnamed portal as destination is issued ...
// a simple Query message also destroys the unnamed portal". PostgreSQL 15 does not always honour
// that: after a failed ROLLBACK TO SAVEPOINT the unnamed portal of that Query stays in the portal
// table with its memory freed, and an Execute or Describe of '' then crashes the backend (SIGSEGV),
// which makes the postmaster restart every backend of the server: every tenant on it.
//
// So the pooler tracks, per client, whether a Bind to '' was sent since the last simple Query (or
// since it got its server connection: in transaction mode a connection changes hands only between
// transactions, which end every portal). When not, such a message never reaches the server as is:
// it goes as a Parse the server refuses with a syntax error (42601) without touching any portal, so
// the transaction state and the skip to Sync are the server's own, and the client gets what a
// correct PostgreSQL says instead: 34000 portal "" does not exist.
import { encodeParse } from '../net/extended.ts';
import * as msg from '../net/messages.ts';

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
  return type === 0x45 ? first === 0 && length === 9 : type === 0x44 && first === 0x50 && length === 6;
}

/** The server's refusal of PORTAL_GONE_PARSE. */
export function isPortalGoneRefusal(fields: Record<string, string>): boolean {
  return fields.C === '42601' && fields.M !== undefined && fields.M.includes(PORTAL_GONE_MARK);
}
