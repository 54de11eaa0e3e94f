// Redaction of secrets inside free text (error messages, stacks, log messages). Key-based
// redaction (pino `redact`) only hides values under known keys; an error quoting a connection
// string or a server message keeps the secret in its text. These rules replace the secret part
// and keep the rest, so the line still says what failed and where:
//   postgres://user:PASS@host       → postgres://user:[redacted]@host   (any scheme://user:pass@)
//   password=PASS, "password": "P"  → password=[redacted], "password": [redacted]
//                                      (keys ending in password, passwd, pwd, pass, secret, token,
//                                      api_key, access_key, ssl_key, private_key, credentials:
//                                      PGPASSWORD=, sslpassword=, db_password: …)
//   PASSWORD 'PASS' (SQL literal)   → PASSWORD [redacted]
//   Bearer TOKEN, Basic CREDENTIALS → Bearer [redacted], Basic [redacted]
//   SCRAM-SHA-256$4096:salt$k:k     → SCRAM-SHA-256$[redacted]          (a verifier is a secret)
//   md5 + 32 hex                    → md5[redacted]                     (a password equivalent)
//   ≥ 40 base64 characters that look random — digits, and upper and lower case each at least a
//   quarter of the letters (KMS and SecretBox ciphertexts, generated passwords, keys) → [redacted]
// Bounded: strings longer than MAX_TEXT are cut before the (linear) regexes run; nested values
// are walked to MAX_DEPTH, each object once.

const CENSOR = '[redacted]';
/** Longer text is cut: a log line is not the place for it, and the scan stays cheap. */
export const MAX_TEXT = 16 * 1024;
const MAX_DEPTH = 8;

const RULES: readonly [RegExp, string][] = [
  // scheme://user:password@ — the user stays (it says which login), the password goes, up to the
  // LAST '@' of the authority: URL parsers take that one (WHATWG URL "authority state"), so a raw
  // '@' may sit in the password.
  [/\b([a-z][a-z0-9+.-]{0,30}:\/\/[^\s:@/?#]*):[^\s/?#]*@/gi, `$1:${CENSOR}@`],
  // key=value / key: value / "key": "value", in conninfo strings, URLs, JSON and messages — also
  // JSON serialized inside a JSON string (\"key\":\"value\"), and libpq's backslash escapes in
  // values (libpq "Keyword/Value Connection Strings"); not an ARN segment (`…:secret:rds!cluster-…`
  // names a secret, it is not one).
  [
    /(?<!:)\b(\w*?(?:password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key|ssl[_-]?key|private[_-]?key|credentials?)(?:\\?["'])?\s*[=:]\s*)("(?:[^"\\\n]|\\.){0,1024}"|'(?:[^'\\\n]|\\.){0,1024}'|\\"(?:[^"\\\n]|\\(?!")){0,1024}\\"|(?:[^\s,;&)}\]"'\\]|\\.)+)/gi,
    `$1${CENSOR}`,
  ],
  // SQL: CREATE/ALTER ROLE ... PASSWORD 'literal' ('' escapes a quote), or E'literal' (so does \').
  [/\b(PASSWORD\s+)(?:E'(?:[^'\\]|''|\\.){0,1024}'|'(?:[^']|''){0,1024}')/gi, `$1${CENSOR}`],
  // HTTP credentials; Basic is base64(user:password) (RFC 7617).
  [/\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/-]+=*/g, `$1${CENSOR}`],
  [/SCRAM-SHA-256\$[A-Za-z0-9+/=:$]+/g, `SCRAM-SHA-256$${CENSOR}`],
  [/\bmd5[0-9a-fA-F]{32}\b/g, `md5${CENSOR}`],
];

/** A long run of base64 / base64url characters (with optional padding). */
const BLOB = /[A-Za-z0-9+/_-]{40,}={0,2}/g;

/**
 * Random base64 has about as many upper- as lower-case letters, and digits; identifiers, paths,
 * hex ids and ARNs (`rds!cluster-<uuid>-AbCdEf`) are mostly one case.
 */
function looksRandom(run: string): boolean {
  if (!/[0-9]/.test(run)) return false;
  const upper = run.replace(/[^A-Z]/g, '').length;
  const lower = run.replace(/[^a-z]/g, '').length;
  const letters = upper + lower;
  return upper >= letters / 4 && lower >= letters / 4;
}

/** `s` with every secret the rules recognise replaced by "[redacted]". */
export function redactText(s: string): string {
  let out = s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…[truncated]` : s;
  for (const [re, to] of RULES) out = out.replace(re, to);
  return out.replace(BLOB, (run) => (looksRandom(run) ? CENSOR : run));
}

/** An Error as a plain object: name, message, stack, code-like own fields, cause and errors (AggregateError). */
function errorObject(err: Error): Record<string, unknown> {
  const o: Record<string, unknown> = { type: err.constructor?.name ?? 'Error', name: err.name, message: err.message };
  if (err.stack !== undefined) o.stack = err.stack;
  for (const [k, v] of Object.entries(err)) if (!(k in o)) o[k] = v;
  if (err.cause !== undefined) o.cause = err.cause;
  if (err instanceof AggregateError) o.errors = err.errors;
  return o;
}

/**
 * A copy of `value` with every string passed through redactText, Errors turned into plain objects
 * first (by `serializeError`, e.g. pino's standard error serializer; so their message, stack,
 * cause and inner errors are redacted too). The input is not modified.
 */
export function redactDeep(value: unknown, serializeError: (err: Error) => object = errorObject): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redactText(v);
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return `[${v.byteLength} bytes]`;
    if (v instanceof Date) return v;
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const src = (v instanceof Error ? serializeError(v) : v) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(src)) out[k] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0);
}
