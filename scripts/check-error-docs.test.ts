// The catalogue <-> docs check (scripts/check-error-docs.ts) on small fixtures: it passes when both
// sides agree and names every code or reason missing on either side; and it passes on the project.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../pooler/src/errors.ts';
import { catalogueOf, checkErrorDocs } from './check-error-docs.ts';

const doc = (codes: string[], reasons: string[]): string =>
  [
    '# Errors the pooler reports',
    '',
    '| code | SQLSTATE | fate | when |',
    '| --- | --- | --- | --- |',
    ...codes.map((c) => `| \`${c}\` | 08P01 | FATAL | something |`),
    '| (at accept) | 53300 | FATAL | not a code |',
    '',
    '## Disconnect reasons',
    '',
    '| reason | connection | when |',
    '| --- | --- | --- |',
    ...reasons.map((r) => `| \`${r}\` | client | something |`),
    '',
    '# Errors the control API reports',
    '',
    '| code | HTTP | when |',
    '| --- | --- | --- |',
    '| `NOT_FOUND`, `OTHER_SECTION` | 404 | another catalogue: not compared |',
  ].join('\n');

const catalogue = catalogueOf({
  errorCatalog: { PROTOCOL_VIOLATION: { sqlstate: '08P01' }, AUTH_FAILED: { sqlstate: '28P01', reason: 'auth_failed' }, QUERY_TIMEOUT: { sqlstate: '57014', reason: null } },
  disconnectReasons: ['client_close', 'protocol_violation'],
});

describe('check-error-docs', () => {
  it('reads codes from the catalogue keys and reasons from the list and the entries', () => {
    expect([...catalogue.codes].sort()).toEqual(['AUTH_FAILED', 'PROTOCOL_VIOLATION', 'QUERY_TIMEOUT']);
    expect([...catalogue.reasons].sort()).toEqual(['auth_failed', 'client_close', 'protocol_violation']);
  });

  it('passes when the docs list exactly the catalogue', () => {
    expect(checkErrorDocs(catalogue, doc(['PROTOCOL_VIOLATION', 'AUTH_FAILED', 'QUERY_TIMEOUT'], ['client_close', 'protocol_violation', 'auth_failed']))).toEqual([]);
  });

  it('fails on a code or reason missing from the docs', () => {
    expect(checkErrorDocs(catalogue, doc(['PROTOCOL_VIOLATION', 'AUTH_FAILED'], ['client_close', 'protocol_violation']))).toEqual([
      'pooler/src/errors.ts has error code QUERY_TIMEOUT, which docs/errors.md does not list',
      'pooler/src/errors.ts has disconnect reason auth_failed, which docs/errors.md does not list',
    ]);
  });

  it('fails on a documented code or reason the catalogue does not have, and on duplicates', () => {
    const problems = checkErrorDocs(catalogue, doc(['PROTOCOL_VIOLATION', 'AUTH_FAILED', 'QUERY_TIMEOUT', 'GONE_CODE', 'AUTH_FAILED'], ['client_close', 'protocol_violation', 'auth_failed', 'gone_reason']));
    expect(problems).toEqual([
      'docs/errors.md lists error code GONE_CODE, which pooler/src/errors.ts does not have',
      'docs/errors.md: error code AUTH_FAILED is listed twice',
      'docs/errors.md lists disconnect reason gone_reason, which pooler/src/errors.ts does not have',
    ]);
  });

  it('fails when a table is missing', () => {
    expect(checkErrorDocs(catalogue, '# Errors the pooler reports\n\nno tables\n')).toEqual([
      'docs/errors.md: no table headed "code" under "# Errors the pooler reports" (the error codes)',
      'docs/errors.md: no table headed "reason" under "# Errors the pooler reports" (the disconnect reasons)',
    ]);
  });

  it('passes on the project: pooler/src/errors.ts and docs/errors.md agree', () => {
    const markdown = readFileSync(resolve(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
    expect(checkErrorDocs(catalogueOf(errors), markdown)).toEqual([]);
  });
});
