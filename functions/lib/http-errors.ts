// Errors raised by the HTTP layer itself (before or around the domain): each has a stable `code`
// and the HTTP status it maps to. Domain errors from shared/ are mapped in error-response.ts.

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** Field-level reasons for 4xx input errors; never contains submitted values. */
  readonly details: readonly ErrorDetail[] | undefined;
  constructor(status: number, code: string, message: string, details?: readonly ErrorDetail[]) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The body is not valid JSON (RFC 8259). */
export class MalformedJsonError extends HttpError {
  constructor() {
    super(400, 'MALFORMED_JSON', 'request body is not valid JSON');
  }
}

/** A JSON body was sent with a content type other than application/json. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor() {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
  }
}

/** The request is well-formed JSON but does not match the operation's schema. */
export class InvalidRequestError extends HttpError {
  constructor(message: string, details?: readonly ErrorDetail[]) {
    super(400, 'INVALID_REQUEST', message, details);
  }
}

/**
 * A string in the request (body, path or query) holds a control character or an unpaired
 * surrogate (shared/src/domain/text.ts). Checked on every request before its schema, so the code
 * is the same whichever field it is; the details name the fields, never their values.
 */
export class InvalidCharacterError extends HttpError {
  constructor(details: readonly ErrorDetail[]) {
    super(400, 'INVALID_CHARACTER', `invalid request: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
  }
}

/** A precondition such as If-Match is missing where the operation requires one (RFC 6585 §3). */
export class PreconditionRequiredError extends HttpError {
  constructor(message: string) {
    super(428, 'PRECONDITION_REQUIRED', message);
  }
}

/** Provisioning on the target cluster failed for a reason other than bad input. */
export class ProvisioningError extends HttpError {
  constructor(message: string) {
    super(502, 'PROVISIONING_FAILED', message);
  }
}

/** The target database could not be reached to answer a query (metrics). */
export class TargetUnavailableError extends HttpError {
  constructor(message: string) {
    super(502, 'TARGET_UNAVAILABLE', message);
  }
}

/** A destination names a cluster that is not registered (POST /tenants, PATCH /tenants/{id}). */
export class UnknownClusterError extends HttpError {
  constructor(clusterId: string) {
    super(400, 'UNKNOWN_CLUSTER', `cluster ${clusterId} does not exist`);
  }
}
