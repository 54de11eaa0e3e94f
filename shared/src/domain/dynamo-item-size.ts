// The size DynamoDB counts for an item (the 400 KB limit), from the rules in the developer guide
// ("Item sizes and formats", DynamoDB Developer Guide): a string is its UTF-8 bytes; a number 1 byte
// plus 1 per two significant digits (at most 21); a boolean or null 1 byte; a map or list 3 bytes
// plus 1 per element plus its elements; every attribute name and map key its UTF-8 bytes.
// Used to check that items built from unbounded inputs (a heartbeat) stay under the limit.
export const DYNAMO_ITEM_MAX_BYTES = 400 * 1024;

export function dynamoItemSize(item: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) if (v !== undefined) n += Buffer.byteLength(k, 'utf8') + valueSize(v);
  return n;
}

function valueSize(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (typeof v === 'number') {
    const digits = String(Math.abs(v)).replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
    return Math.min(21, 1 + Math.ceil(Math.max(digits, 1) / 2));
  }
  if (typeof v === 'boolean' || v === null) return 1;
  if (Array.isArray(v)) return 3 + v.reduce<number>((s, e) => s + 1 + valueSize(e), 0);
  if (typeof v === 'object') {
    let s = 3;
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) if (e !== undefined) s += 1 + Buffer.byteLength(k, 'utf8') + valueSize(e);
    return s;
  }
  return 0;
}
