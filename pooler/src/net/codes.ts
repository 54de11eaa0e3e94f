// The PostgreSQL protocol's message type bytes, one set per direction (protocol docs, "Message
// Formats"), as node-postgres's pg-protocol keeps them. The same letter means different messages
// in the two directions ('S' is Sync from a client and ParameterStatus from a server; 'C' Close and
// CommandComplete; 'D' Describe and DataRow; 'E' Execute and ErrorResponse), so every name says
// its direction: FE_ for frontend (client → server), BE_ for backend (server → client).
//
// Plain module-level `const` numbers, not enums or an object: Node's type stripping has no enums
// (tsconfig erasableSyntaxOnly), and the hot path (frontend/client.ts, net/scanner.ts) switches on
// these per message, where a number constant costs nothing and a property load might.

// ---- frontend (client → server) ------------------------------------------------------------
export const FE_BIND = 0x42; // 'B'
export const FE_CLOSE = 0x43; // 'C'
export const FE_COPY_DATA = 0x64; // 'd'
export const FE_COPY_DONE = 0x63; // 'c'
export const FE_COPY_FAIL = 0x66; // 'f'
export const FE_DESCRIBE = 0x44; // 'D'
export const FE_EXECUTE = 0x45; // 'E'
export const FE_FLUSH = 0x48; // 'H'
export const FE_FUNCTION_CALL = 0x46; // 'F'
export const FE_PARSE = 0x50; // 'P'
/** PasswordMessage, and the SASL and GSS responses that share its type byte. */
export const FE_PASSWORD = 0x70; // 'p'
export const FE_QUERY = 0x51; // 'Q'
export const FE_SYNC = 0x53; // 'S'
export const FE_TERMINATE = 0x58; // 'X'

/** The second byte of Describe and Close: what the name names. */
export const TARGET_STATEMENT = 0x53; // 'S'
export const TARGET_PORTAL = 0x50; // 'P'

// ---- backend (server → client) -------------------------------------------------------------
export const BE_AUTHENTICATION = 0x52; // 'R'
export const BE_BACKEND_KEY_DATA = 0x4b; // 'K'
export const BE_BIND_COMPLETE = 0x32; // '2'
export const BE_CLOSE_COMPLETE = 0x33; // '3'
export const BE_COMMAND_COMPLETE = 0x43; // 'C'
export const BE_COPY_BOTH_RESPONSE = 0x57; // 'W'
export const BE_COPY_DATA = 0x64; // 'd'
export const BE_COPY_DONE = 0x63; // 'c'
export const BE_COPY_IN_RESPONSE = 0x47; // 'G'
export const BE_COPY_OUT_RESPONSE = 0x48; // 'H'
export const BE_DATA_ROW = 0x44; // 'D'
export const BE_EMPTY_QUERY_RESPONSE = 0x49; // 'I'
export const BE_ERROR_RESPONSE = 0x45; // 'E'
export const BE_FUNCTION_CALL_RESPONSE = 0x56; // 'V'
export const BE_NEGOTIATE_PROTOCOL_VERSION = 0x76; // 'v'
export const BE_NO_DATA = 0x6e; // 'n'
export const BE_NOTICE_RESPONSE = 0x4e; // 'N'
export const BE_NOTIFICATION_RESPONSE = 0x41; // 'A'
export const BE_PARAMETER_DESCRIPTION = 0x74; // 't'
export const BE_PARAMETER_STATUS = 0x53; // 'S'
export const BE_PARSE_COMPLETE = 0x31; // '1'
export const BE_PORTAL_SUSPENDED = 0x73; // 's'
export const BE_READY_FOR_QUERY = 0x5a; // 'Z'
export const BE_ROW_DESCRIPTION = 0x54; // 'T'

/** ReadyForQuery's transaction status byte. */
export const TX_IDLE = 0x49; // 'I'
export const TX_IN_BLOCK = 0x54; // 'T'
export const TX_FAILED = 0x45; // 'E'
