// Plain text only: every string the control plane stores ends up in places where a control
// character or broken UTF-16 does harm — the pooler's configuration (client database/user pairs are
// its lookup keys: ("a\0b","c") and ("a","b\0c") collide once written as NUL-terminated start-up
// values), PostgreSQL's start-up packet (a NUL ends a value early, protocol docs "StartupMessage"),
// SQL identifiers, log lines and hostnames. PostgreSQL cannot store NUL in a name at all, and
// SASLprep prohibits control characters in passwords (RFC 4013 §2.3, RFC 3454 C.2.1/C.2.2).
//
// Refused: Unicode general category Cc (U+0000–U+001F, U+007F–U+009F) and unpaired surrogates
// (which have no UTF-8 encoding; they would be replaced by U+FFFD on the wire, so two different
// stored names could reach the pooler as the same bytes).

/** C0 controls, DEL and C1 controls: exactly Unicode's Cc category. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const CONTROL_CHARACTER_MESSAGE = 'must not contain control characters (U+0000 to U+001F, U+007F to U+009F)';
export const UNPAIRED_SURROGATE_MESSAGE = 'must be well-formed Unicode (no unpaired surrogate)';

/** One cheap scan for the common case (no control character, no surrogate at all). */
const SUSPECT = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

/** Why `s` is not plain text, or undefined when it is. The message never quotes `s`. */
export function textProblem(s: string): string | undefined {
  if (!SUSPECT.test(s)) return undefined;
  if (CONTROL.test(s)) return CONTROL_CHARACTER_MESSAGE;
  if (UNPAIRED_SURROGATE.test(s)) return UNPAIRED_SURROGATE_MESSAGE;
  return undefined;
}

export interface TextIssue {
  /** Dotted path of the field (array indexes as numbers); a bad object key is `<parent>.(key)`. */
  readonly path: string;
  readonly message: string;
}

/** At most this many issues are reported (the response stays small whatever the input). */
export const MAX_TEXT_ISSUES = 20;

const MAX_PATH_KEYS = 16;

/** A path as a linked list (child → parent), so walking a deep value copies nothing per level. */
interface PathNode {
  readonly parent: PathNode | undefined;
  readonly key: string;
}

function pathOf(node: PathNode | undefined): string {
  const keys: string[] = [];
  for (let n = node; n !== undefined; n = n.parent) keys.push(n.key);
  if (keys.length === 0) return '(root)';
  keys.reverse();
  // A path stays short in a response, however deep the value.
  return keys.length <= MAX_PATH_KEYS ? keys.join('.') : [...keys.slice(0, MAX_PATH_KEYS / 2), '…', ...keys.slice(-MAX_PATH_KEYS / 2)].join('.');
}

/**
 * Every string (and object key) in a JSON-like value that is not plain text, in document order.
 * Iterative and linear in the size of the value, so a deeply nested body can neither exhaust the
 * stack nor hold the event loop; stops after MAX_TEXT_ISSUES.
 */
export function invalidTextIn(value: unknown): TextIssue[] {
  const out: TextIssue[] = [];
  // `key`: the entry checks an object key (the key itself is never repeated: it is the bad text).
  const stack: { v: unknown; at: PathNode | undefined; key?: true }[] = [{ v: value, at: undefined }];
  while (stack.length > 0 && out.length < MAX_TEXT_ISSUES) {
    const { v, at, key } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem !== undefined) out.push({ path: key ? pathOf({ parent: at, key: '(key)' }) : pathOf(at), message: problem });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: { parent: at, key: String(i) } });
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        if (textProblem(k) !== undefined) {
          stack.push({ v: k, at, key: true });
        } else {
          stack.push({ v: (v as Record<string, unknown>)[k], at: { parent: at, key: k } });
        }
      }
    }
  }
  return out;
}
