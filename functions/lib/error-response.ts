// Maps any thrown value to the API's error body `{ error: { code, message, details? } }` and an
// HTTP status. Only errors we recognise (HttpError and the domain errors with stable codes) say
// what went wrong; everything else becomes a generic 500 so no internal detail (SQL, stack, AWS
// request ids, secrets) reaches a client.
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../../shared/src/domain/errors.ts';
import { HttpError, type ErrorDetail } from './http-errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[] };
}

export interface MappedError {
  status: number;
  body: ErrorBody;
  /** False for 5xx: the caller logs the original error (server side only). */
  expected: boolean;
}

export const INTERNAL_ERROR: ErrorBody = { error: { code: 'INTERNAL', message: 'internal error' } };

/** Stable codes of the conflicts a client can act on (RFC 9110 §15.5.10, 409 Conflict). */
const CONFLICT_CODES = {
  exists: 'ALREADY_EXISTS',
  'login-taken': 'LOGIN_TAKEN',
  'idempotency-key-reused': 'IDEMPOTENCY_KEY_REUSED',
} as const;

export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details && err.details.length > 0) body.error.details = [...err.details];
    return { status: err.status, body, expected: err.status < 500 };
  }
  if (err instanceof NotFoundError) {
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: err.message } }, expected: true };
  }
  if (err instanceof VersionConflictError) {
    return { status: 409, body: { error: { code: 'VERSION_CONFLICT', message: err.message } }, expected: true };
  }
  if (err instanceof ConflictError) {
    return { status: 409, body: { error: { code: CONFLICT_CODES[err.reason], message: err.message } }, expected: true };
  }
  if (err instanceof ValidationError) {
    const body: ErrorBody = { error: { code: 'INVALID_REQUEST', message: err.message } };
    if (err.issues.length > 0) body.error.details = err.issues.map((i) => ({ path: i.path, message: i.message }));
    return { status: 400, body, expected: true };
  }
  return { status: 500, body: INTERNAL_ERROR, expected: false };
}
