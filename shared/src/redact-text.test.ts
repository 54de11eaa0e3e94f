import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMd5Verifier, createScramVerifier } from './auth/verifier.ts';
import { MAX_TEXT, redactDeep, redactText } from './redact-text.ts';

describe('redactText', () => {
  it.each([
    ['postgres://app:pa55-w0rd@db:5432/x', 'postgres://app:[redacted]@db:5432/x'],
    ['postgresql://:only-pw@h/db', 'postgresql://:[redacted]@h/db'],
    ['https://user:tok@example.com/path', 'https://user:[redacted]@example.com/path'],
    ['host=db user=app password=s3cr3t dbname=x', 'host=db user=app password=[redacted] dbname=x'],
    ["password='with spaces' sslmode=require", 'password=[redacted] sslmode=require'],
    ['{"password":"in json","user":"u"}', '{"password":[redacted],"user":"u"}'],
    ['secret: hunter2, next', 'secret: [redacted], next'],
    ['?token=abc&x=1', '?token=[redacted]&x=1'],
    ["ALTER ROLE r PASSWORD 'it''s secret' VALID", 'ALTER ROLE r PASSWORD [redacted] VALID'],
    ['Authorization: Bearer eyJhbGciOi.abc.def', 'Authorization: Bearer [redacted]'],
    ['PGPASSWORD=abc123 psql', 'PGPASSWORD=[redacted] psql'],
    ['db_password: x1, adminPassword=x2', 'db_password: [redacted], adminPassword=[redacted]'],
    // A raw '@' in the password: URL parsers (WHATWG, pg-connection-string) take the LAST '@' of the authority.
    ['postgresql://user:p@ss@host/db', 'postgresql://user:[redacted]@host/db'],
    // JSON inside a JSON string (a logged body or message that was itself serialized).
    ['{"msg":"{\\"password\\":\\"hunter2 x\\",\\"u\\":1}"}', '{"msg":"{\\"password\\":[redacted],\\"u\\":1}"}'],
    // libpq conninfo: a backslash escapes the next character in a value, quoted or not.
    ['password=a\\ b host=h', 'password=[redacted] host=h'],
    // SQL escape string: a backslash escapes the quote.
    ["ALTER ROLE r PASSWORD E'ab\\'c d' VALID", 'ALTER ROLE r PASSWORD [redacted] VALID'],
    ["ALTER ROLE r PASSWORD 'ends in \\' VALID", 'ALTER ROLE r PASSWORD [redacted] VALID'],
    // HTTP Basic credentials are base64(user:password) (RFC 7617).
    ['Authorization: Basic dXNlcjpwYXNzd29yZA==', 'Authorization: Basic [redacted]'],
  ])('%s', (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it('verifiers and ciphertext blobs', () => {
    const scram = createScramVerifier('pw', { iterations: 16 });
    const md5 = createMd5Verifier('pw', 'u');
    expect(redactText(`stored ${scram}.`)).toBe('stored SCRAM-SHA-256$[redacted].');
    expect(redactText(`stored ${md5}`)).toBe('stored md5[redacted]');
    const blob = randomBytes(150).toString('base64');
    expect(redactText(`ciphertext ${blob} end`)).toBe('ciphertext [redacted] end');
    const generated = randomBytes(32).toString('base64url');
    expect(redactText(`pw ${generated}`)).not.toContain(generated.slice(0, 20));
  });

  it('keeps what is not a secret: hosts, ids, paths, ARNs, SQLSTATE, PostgreSQL messages', () => {
    const keep = [
      'connection to 10.1.2.3:5432 refused (ECONNREFUSED)',
      `request ${randomUUID()} failed`,
      'at file:///work/wt/api/functions/lib/provision.ts:120:11 (node:internal/process/task_queues:105:5)',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf',
      'SQLSTATE 28P01: password authentication failed for user "app"',
      'password must be at least 12 characters',
      'sy-prod-cluster.cluster-c9akciq32.eu-west-1.rds.amazonaws.com',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'passwordCiphertext missing; secretArn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
    ];
    for (const s of keep) expect(redactText(s)).toBe(s);
  });

  it('is bounded: a huge string is cut before scanning', () => {
    const huge = 'password=x '.repeat(200_000);
    const out = redactText(huge);
    expect(out.length).toBeLessThan(2 * MAX_TEXT);
    expect(out.endsWith('…[truncated]')).toBe(true);
  });
});

describe('redactDeep', () => {
  it('walks objects, arrays and Errors (message, stack, cause, AggregateError), without touching the input', () => {
    const inner = new Error('password=inner');
    const agg = new AggregateError([inner], 'outer postgres://u:pw@h');
    const input = { a: ['token=t1'], err: agg, n: 3, nested: { deep: { s: 'secret=s1' } } };
    const out = JSON.stringify(redactDeep(input));
    expect(out).not.toMatch(/inner|t1|s1|:pw@/);
    expect(out).toContain('[redacted]');
    expect(input.a[0]).toBe('token=t1');
  });

  it('survives cycles, deep nesting and buffers', () => {
    const o: Record<string, unknown> = { s: 'password=x' };
    o.self = o;
    let deep: Record<string, unknown> = { v: 'password=y' };
    for (let i = 0; i < 50; i++) deep = { d: deep };
    const out = JSON.stringify(redactDeep({ o, deep, b: Buffer.from('password=z') }));
    expect(out).toContain('[circular]');
    expect(out).toContain('[too deep]');
    expect(out).not.toMatch(/password=[xyz]/);
  });
});
