// The statement shapes that take a tenant's time (SHOW STATEMENTS, docs/admin.md): each query's
// text normalized (literals and numbers → ?, comments dropped, white space collapsed; `$n`
// parameters kept), time and calls summed per shape. Bounded whatever a tenant sends
// (docs/security.md): a text is read up to RAW_MAX bytes; a tenant keeps at most MAX_SHAPES shapes
// (a new one evicts the one with the least total time) and a cache of at most RAW_CACHE raw texts
// (cleared when full); the process keeps at most MAX_TOTAL_SHAPES shapes and MAX_TOTAL_RAW cached
// texts over all tenants; and a tenant normalizes at most NORMALIZE_PER_SECOND new texts a second
// (the time of the rest goes to the tenant's OTHER shape), so millions of distinct texts cost
// neither memory nor event-loop time, and the shapes' times still add up to the query time.
// The hot path's share: a latin1 decode of the text and one Map lookup per query (the cache hit).

export const RAW_MAX = 1024;
export const MAX_SHAPES = 100;
export const RAW_CACHE = 128;
export const MAX_TOTAL_SHAPES = 10_000;
export const MAX_TOTAL_RAW = 10_000;
export const NORMALIZE_PER_SECOND = 500;
/** The shape of the queries whose text was not normalized (rate) or kept (process-wide bound). */
export const OTHER_TEXT = '(other: text not normalized within the bounds)';

const Q = 0x51; // 'Q' Query: text at 5
const P = 0x50; // 'P' Parse: name\0 text\0 at 5

/** The query text that starts `chunk` (a Query or Parse message at offset 0), latin1, capped; else null. */
export function leadingQueryText(chunk: Buffer): string | null {
  const type = chunk[0];
  if (chunk.length < 6 || (type !== Q && type !== P)) return null;
  let start = 5;
  if (type === P) {
    const nameEnd = chunk.indexOf(0, 5);
    if (nameEnd < 0) return null;
    start = nameEnd + 1;
  }
  const limit = Math.min(chunk.length, start + RAW_MAX);
  let end = chunk.indexOf(0, start);
  if (end < 0 || end > limit) end = limit;
  return end > start ? chunk.toString('latin1', start, end) : null;
}

const isIdent = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c >= 0x80;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;

/**
 * Normalizes SQL text (PostgreSQL lexical rules, docs "Lexical Structure"): string constants
 * ('…' with '' inside, E'…' with backslash escapes, $tag$…$tag$) and numeric constants become ?,
 * -- and /* *\/ comments are dropped, runs of white space become one space. Quoted identifiers,
 * `$n` parameters and everything else are kept. Linear in the text; the text is at most RAW_MAX.
 */
export function normalizeSql(sql: string): string {
  // The tokens are joined once at the end: a string built by `+=` is a rope of one node per token
  // plus slices that keep the input alive (about 29 KiB for a 1 KiB text of short tokens, 290 MiB
  // for MAX_TOTAL_SHAPES), while join() gives a flat string of the text's own size.
  const out: string[] = [];
  let i = 0;
  const n = sql.length;
  let space = false;
  const emit = (s: string): void => {
    if (space && out.length > 0) out.push(' ');
    space = false;
    out.push(s);
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      space = true;
      i++;
    } else if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      while (i < n && sql.charCodeAt(i) !== 0x0a) i++;
      space = true;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      let depth = 0;
      while (i < n) {
        if (sql.charCodeAt(i) === 0x2f && sql.charCodeAt(i + 1) === 0x2a) (depth++, (i += 2));
        else if (sql.charCodeAt(i) === 0x2a && sql.charCodeAt(i + 1) === 0x2f) {
          i += 2;
          if (--depth === 0) break;
        } else i++;
      }
      space = true;
    } else if (c === 0x27) {
      // An E'…' string: its E was emitted as an identifier character just before, with no space.
      const last = out[out.length - 1];
      const escapes = !space && (last === 'E' || last === 'e');
      if (escapes) out.pop();
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (escapes && d === 0x5c) i += 2;
        else if (d === 0x5c) {
          // A backslash in '…': where it ends depends on standard_conforming_strings (docs 4.1.2.1),
          // which the pooler does not track. Whichever way it is read, one reading turns the
          // literals after it into text, so the rest of the query is one ? (never a literal shown).
          emit('?');
          return out.join('');
        }
        else if (d === 0x27 && sql.charCodeAt(i + 1) === 0x27) i += 2;
        else if (d === 0x27) break;
        else i++;
      }
      i++;
      emit('?');
    } else if (c === 0x22) {
      const end = sql.indexOf('"', i + 1);
      const stop = end < 0 ? n : end + 1;
      emit(sql.slice(i, stop));
      i = stop;
    } else if (c === 0x24 && isDigit(sql.charCodeAt(i + 1))) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      emit(sql.slice(i, j));
      i = j;
    } else if (c === 0x24) {
      // $tag$ … $tag$ (the tag: identifier characters, possibly none).
      let j = i + 1;
      while (j < n && isIdent(sql.charCodeAt(j))) j++;
      if (sql.charCodeAt(j) === 0x24) {
        const tag = sql.slice(i, j + 1);
        const end = sql.indexOf(tag, j + 1);
        i = end < 0 ? n : end + tag.length;
        emit('?');
      } else {
        emit('$');
        i++;
      }
    } else if (isDigit(c) || (c === 0x2e && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i;
      while (j < n && (isDigit(sql.charCodeAt(j)) || sql.charCodeAt(j) === 0x2e)) j++;
      if (j < n && (sql.charCodeAt(j) === 0x65 || sql.charCodeAt(j) === 0x45)) {
        let k = j + 1;
        if (sql.charCodeAt(k) === 0x2b || sql.charCodeAt(k) === 0x2d) k++;
        if (isDigit(sql.charCodeAt(k))) {
          j = k;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
      }
      // PostgreSQL 16's 0x1F, 0o17, 0b101 and 1_000 (and 15's 12abc, a number then an alias):
      // whatever identifier characters follow the digits are part of the ? (docs 4.1.2.6).
      while (j < n && isIdent(sql.charCodeAt(j))) j++;
      emit('?');
      i = j;
    } else if (isIdent(c)) {
      let j = i + 1;
      while (j < n && isIdent(sql.charCodeAt(j))) j++;
      emit(sql.slice(i, j));
      i = j;
    } else {
      emit(sql[i]!);
      i++;
    }
  }
  return out.join('');
}

/** One shape's time. `live` false once evicted (raw-cache entries pointing to it are dropped). */
export class Shape {
  readonly text: string;
  calls = 0;
  totalMs = 0;
  maxMs = 0;
  live = true;

  constructor(text: string) {
    this.text = text;
  }

  add(ms: number): void {
    this.calls++;
    this.totalMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }
}

/** The process-wide bounds shared by every tenant's shapes. */
export class ShapeBudget {
  shapes = 0;
  raw = 0;
}

/** One tenant's shapes. */
export class TenantShapes {
  private readonly budget: ShapeBudget;
  private readonly raw = new Map<string, Shape>();
  private readonly shapes = new Map<string, Shape>();
  private windowStart = 0;
  private normalized = 0;
  /** Removed from the configuration (clear): shapes are not recorded until reopen. */
  private removed = false;
  /** Where the time of queries whose text is not recorded goes (outside the bounds: one per tenant). */
  readonly other = new Shape(OTHER_TEXT);

  constructor(budget: ShapeBudget) {
    this.budget = budget;
  }

  /** The shape of `rawText` (latin1, from leadingQueryText); `other` when it cannot be recorded. */
  shapeOf(rawText: string): Shape {
    if (this.removed) return this.other;
    const hit = this.raw.get(rawText);
    if (hit !== undefined) {
      if (hit.live) return hit;
      this.raw.delete(rawText);
      this.budget.raw--;
    }
    return this.miss(rawText);
  }

  private miss(rawText: string): Shape {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.normalized = 0;
    }
    if (this.normalized >= NORMALIZE_PER_SECOND) return this.other;
    this.normalized++;
    // Decoded as UTF-8 for display only now (the cache key stays the cheap latin1 decode).
    const text = normalizeSql(Buffer.from(rawText, 'latin1').toString('utf8'));
    let shape = this.shapes.get(text);
    if (shape === undefined) {
      if (this.shapes.size >= MAX_SHAPES || this.budget.shapes >= MAX_TOTAL_SHAPES) {
        if (!this.evictLeast()) return this.other;
      }
      shape = new Shape(text);
      this.shapes.set(text, shape);
      this.budget.shapes++;
    }
    if (this.raw.size >= RAW_CACHE) {
      this.budget.raw -= this.raw.size;
      this.raw.clear();
    }
    if (this.budget.raw < MAX_TOTAL_RAW) {
      this.raw.set(rawText, shape);
      this.budget.raw++;
    }
    return shape;
  }

  /** Drops this tenant's shape with the least total time; false when it has none. */
  private evictLeast(): boolean {
    let least: Shape | undefined;
    for (const s of this.shapes.values()) if (least === undefined || s.totalMs < least.totalMs) least = s;
    if (least === undefined) return false;
    least.live = false;
    this.shapes.delete(least.text);
    this.budget.shapes--;
    return true;
  }

  /** The shapes (and `other`, once it has calls), most total time first. */
  top(): Shape[] {
    const all = [...this.shapes.values()];
    if (this.other.calls > 0) all.push(this.other);
    return all.sort((a, b) => b.totalMs - a.totalMs);
  }

  /**
   * Forgets every shape and cached text (the tenant was removed): their share of the process-wide
   * bounds comes back, and a tenant added later under the same id starts with none of these texts.
   */
  clear(): void {
    // Its clients still in a transaction finish it before they are closed: nothing more is kept.
    this.removed = true;
    for (const s of this.shapes.values()) s.live = false;
    this.budget.shapes -= this.shapes.size;
    this.shapes.clear();
    this.budget.raw -= this.raw.size;
    this.raw.clear();
    this.other.calls = this.other.totalMs = this.other.maxMs = 0;
  }

  /** The tenant is in the configuration (again): a login to it records shapes (LatencyBook.forTenant). */
  reopen(): void {
    if (!this.removed) return;
    this.removed = false;
    this.other.calls = this.other.totalMs = this.other.maxMs = 0;
  }

  /** Cached raw texts (tests: the bound). */
  get cachedTexts(): number {
    return this.raw.size;
  }

  get size(): number {
    return this.shapes.size;
  }
}
