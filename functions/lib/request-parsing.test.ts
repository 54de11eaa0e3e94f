// Request parsing helpers: JSON bodies (media types, base64), If-Match versions, and the mapping
// of domain errors to HTTP statuses and stable codes.
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, SecretError, ValidationError, VersionConflictError } from '../../shared/src/domain/errors.ts';
import { mapError } from './error-response.ts';
import { MalformedJsonError, UnsupportedMediaTypeError } from './http-errors.ts';
import { parseJsonBody } from './json-body.ts';
import { expectedVersion } from './schemas.ts';

describe('parseJsonBody', () => {
  const ev = (body: string | undefined, contentType?: string, isBase64Encoded = false) => ({ body, isBase64Encoded, headers: contentType ? { 'content-type': contentType } : {} });
  it('parses JSON, +json and base64 bodies; empty is undefined', () => {
    expect(parseJsonBody(ev('{"a":1}', 'application/json; charset=utf-8'))).toEqual({ a: 1 });
    expect(parseJsonBody(ev('[1]', 'application/merge-patch+json'))).toEqual([1]);
    expect(parseJsonBody(ev(Buffer.from('{"b":2}').toString('base64'), 'application/json', true))).toEqual({ b: 2 });
    expect(parseJsonBody(ev('{"c":3}'))).toEqual({ c: 3 });
    expect(parseJsonBody(ev(undefined))).toBeUndefined();
    expect(parseJsonBody(ev('   ', 'application/json'))).toBeUndefined();
  });
  it('refuses malformed JSON (400) and other media types (415)', () => {
    expect(() => parseJsonBody(ev('{', 'application/json'))).toThrow(MalformedJsonError);
    expect(() => parseJsonBody(ev('a=1', 'text/plain'))).toThrow(UnsupportedMediaTypeError);
  });
});

describe('expectedVersion', () => {
  it('reads strong and weak entity tags and bare numbers, or the body version', () => {
    expect(expectedVersion('"3"', undefined)).toBe(3);
    expect(expectedVersion('W/"4"', undefined)).toBe(4);
    expect(expectedVersion('5', undefined)).toBe(5);
    expect(expectedVersion(undefined, 6)).toBe(6);
    expect(expectedVersion('"7"', 7)).toBe(7);
    expect(expectedVersion(undefined, undefined)).toBeUndefined();
  });
  it('refuses garbage and disagreement', () => {
    expect(() => expectedVersion('*', undefined)).toThrow(/If-Match/);
    expect(() => expectedVersion('"1"', 2)).toThrow(/disagree/);
  });
});

describe('mapError', () => {
  it('maps domain errors to statuses and stable codes', () => {
    expect(mapError(new NotFoundError('tenant', 'x'))).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(mapError(new VersionConflictError('tenant', 'x', 1, 2))).toMatchObject({ status: 409, body: { error: { code: 'VERSION_CONFLICT' } } });
    expect(mapError(new ConflictError('login-taken', 'taken'))).toMatchObject({ status: 409, body: { error: { code: 'LOGIN_TAKEN' } } });
    expect(mapError(new ConflictError('exists', 'exists'))).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS' } } });
    expect(mapError(new ValidationError('bad', [{ path: 'a', message: 'no' }]))).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', details: [{ path: 'a', message: 'no' }] } } });
  });
  it('hides everything else behind a generic 500', () => {
    for (const err of [new SecretError(), new Error('boom at 10.0.0.1'), 'a string', null]) {
      expect(mapError(err)).toEqual({ status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } }, expected: false });
    }
  });
});
