// Typed errors of the control plane's domain and ports. Each has a stable `code` that callers
// switch on (the HTTP handlers map NOT_FOUND → 404, CONFLICT and VERSION_CONFLICT → 409,
// VALIDATION → 400); messages are for humans and never carry secrets.

export type DomainErrorCode = 'NOT_FOUND' | 'CONFLICT' | 'VERSION_CONFLICT' | 'VALIDATION' | 'SECRET';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
}

export type EntityKind = 'tenant' | 'cluster' | 'heartbeat';

/** The entity does not exist (or no longer exists). */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  readonly entity: EntityKind;
  readonly id: string;
  constructor(entity: EntityKind, id: string) {
    super(`${entity} ${id} not found`);
    this.name = 'NotFoundError';
    this.entity = entity;
    this.id = id;
  }
}

/**
 * Why a write conflicts with existing state:
 * - `exists`: an entity with that id already exists;
 * - `login-taken`: another tenant already uses this client (database, user) pair;
 * - `idempotency-key-reused`: the idempotency key was used for a different request.
 */
export type ConflictReason = 'exists' | 'login-taken' | 'idempotency-key-reused';

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT' as const;
  readonly reason: ConflictReason;
  constructor(reason: ConflictReason, message: string) {
    super(message);
    this.name = 'ConflictError';
    this.reason = reason;
  }
}

/** Optimistic lock failed: the entity changed since the caller read it (re-read and retry). */
export class VersionConflictError extends DomainError {
  readonly code = 'VERSION_CONFLICT' as const;
  readonly entity: EntityKind;
  readonly id: string;
  readonly expectedVersion: number;
  /** The stored version when known (local store always knows; DynamoDB reports it when it can). */
  readonly actualVersion: number | undefined;
  constructor(entity: EntityKind, id: string, expectedVersion: number, actualVersion?: number) {
    super(
      `${entity} ${id} is not at version ${expectedVersion}` + (actualVersion === undefined ? '' : ` (it is at ${actualVersion})`),
    );
    this.name = 'VersionConflictError';
    this.entity = entity;
    this.id = id;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Input (or a stored record) does not match the schema. */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION' as const;
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, issues: readonly ValidationIssue[] = []) {
    super(message);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/**
 * A ciphertext cannot be decrypted: wrong encryption context, wrong key, or tampered data.
 * Deliberately vague (no detail on which) so it cannot serve as an oracle.
 */
export class SecretError extends DomainError {
  readonly code = 'SECRET' as const;
  constructor(message = 'cannot decrypt secret (wrong key, wrong context or corrupted ciphertext)') {
    super(message);
    this.name = 'SecretError';
  }
}
