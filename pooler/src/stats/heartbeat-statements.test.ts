// The statement shapes a heartbeat carries (heartbeat-statements.ts): per-tenant and total bounds,
// fairness over tenants, cut texts, and the worst case of the whole heartbeat item against
// DynamoDB's 400 KB (docs/admin.md "Statement shapes": the figure quoted there is this test's).
import { describe, expect, it } from 'vitest';
import {
  HEARTBEAT_SHAPE_TEXT_BYTES,
  HEARTBEAT_SHAPES_PER_TENANT,
  HEARTBEAT_SHAPES_TOTAL,
  poolerHeartbeatSchema,
} from '../../../shared/src/domain/heartbeat.ts';
import { DYNAMO_ITEM_MAX_BYTES, dynamoItemSize } from '../../../shared/src/domain/dynamo-item-size.ts';
import { MAX_HEARTBEAT_POOLS } from '../config/sources/controller.ts';
import { LatencyBook } from './latency.ts';
import { heartbeatStatements } from './heartbeat-statements.ts';
import { MAX_SHAPES, MAX_TOTAL_SHAPES, RAW_MAX } from './statement-shapes.ts';

const all = (): boolean => true;
/** A tenant id of the longest form the schema allows (63 characters). */
const longId = (i: number): string => `t${String(i).padStart(5, '0')}-${'x'.repeat(56)}`;

function record(book: LatencyBook, tenant: string, text: string, ms: number, calls = 1): void {
  // shapeOf takes the text as read off the wire: its bytes as latin1 (leadingQueryText).
  const shape = book.forTenant(tenant).shapes.shapeOf(Buffer.from(text, 'utf8').toString('latin1'));
  for (let i = 0; i < calls; i++) shape.add(ms);
}

describe('heartbeatStatements', () => {
  it("keeps each tenant's heaviest shapes, at most HEARTBEAT_SHAPES_PER_TENANT, most time first", () => {
    const book = new LatencyBook();
    for (let k = 0; k < 30; k++) record(book, 'acme', `SELECT c${k} FROM t WHERE id = ${k}`, k + 1, 2);
    const out = heartbeatStatements(book.entries(), all);
    expect(out.acme).toHaveLength(HEARTBEAT_SHAPES_PER_TENANT);
    expect(out.acme![0]).toEqual({ text: 'SELECT c29 FROM t WHERE id = ?', calls: 2, totalMs: 60, maxMs: 30 });
    expect(out.acme!.map((s) => s.totalMs)).toEqual([60, 58, 56, 54, 52, 50, 48, 46, 44, 42]);
  });

  it('leaves out tenants no longer configured and shapes without calls', () => {
    const book = new LatencyBook();
    record(book, 'kept', 'SELECT 1', 1);
    record(book, 'gone', 'SELECT 2', 1);
    book.forTenant('idle');
    expect(Object.keys(heartbeatStatements(book.entries(), (id) => id !== 'gone'))).toEqual(['kept']);
  });

  it('is fair under the total bound: every tenant gets its heaviest shape before any gets a second', () => {
    const book = new LatencyBook();
    // One heavy tenant with many shapes, and many light ones.
    for (let k = 0; k < 50; k++) record(book, 'heavy', `SELECT h${k}`, 1000 + k);
    for (let i = 0; i < 300; i++) for (let k = 0; k < 3; k++) record(book, `light-${i}`, `SELECT l${k}`, 1 + k);
    const out = heartbeatStatements(book.entries(), all);
    const counts = Object.values(out).map((l) => l.length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(HEARTBEAT_SHAPES_TOTAL);
    // 301 tenants > 200: each listed tenant has exactly one (its heaviest), the heavy tenant first.
    expect(counts.every((c) => c === 1)).toBe(true);
    expect(out.heavy).toEqual([expect.objectContaining({ text: 'SELECT h49' })]);
    for (const [id, l] of Object.entries(out)) if (id !== 'heavy') expect(l[0]!.text).toBe('SELECT l2');
  });

  it('cuts texts to HEARTBEAT_SHAPE_TEXT_BYTES on a character boundary', () => {
    const book = new LatencyBook();
    record(book, 'wide', `SELECT ${'"ü", '.repeat(200)}1`, 1);
    const [s] = heartbeatStatements(book.entries(), all).wide!;
    expect(Buffer.byteLength(s!.text, 'utf8')).toBeLessThanOrEqual(HEARTBEAT_SHAPE_TEXT_BYTES);
    expect(s!.text.endsWith('…')).toBe(true);
    expect(s!.text).not.toContain('\ufffd');
  });

  it('worst case: the whole heartbeat item stays well under 400 KB with the most tenants, shapes and longest texts', () => {
    const book = new LatencyBook();
    const tenants = MAX_TOTAL_SHAPES / HEARTBEAT_SHAPES_PER_TENANT; // every process-wide shape in a heartbeat-sized list
    const filler = 'a'.repeat(RAW_MAX); // identifiers are kept by the normalizer: the longest normalized text
    for (let i = 0; i < tenants; i++) {
      for (let k = 0; k < HEARTBEAT_SHAPES_PER_TENANT; k++) {
        // Figures with the most significant digits a double prints (17), the largest numbers in size.
        record(book, longId(i), `SELECT c${k}${filler}`.slice(0, RAW_MAX), 1234567.8901234567 + i + k / 3);
      }
    }
    expect(MAX_SHAPES).toBeGreaterThanOrEqual(HEARTBEAT_SHAPES_PER_TENANT);
    const statements = heartbeatStatements(book.entries(), all);
    const big = Number.MAX_SAFE_INTEGER; // 16 digits: the largest figures in size
    const pools = Object.fromEntries(
      Array.from({ length: MAX_HEARTBEAT_POOLS }, (_, i) => [longId(i), { clientsActive: big, clientsWaiting: big, serversActive: big, serversIdle: big }]),
    );
    const hb = poolerHeartbeatSchema.parse({
      poolerId: 'p'.repeat(128),
      instanceId: 'i-0123456789abcdef0',
      appliedConfigVersion: Number.MAX_SAFE_INTEGER,
      lastSeen: new Date().toISOString(),
      statsSince: new Date().toISOString(),
      pools,
      statements,
    });
    // The keys and layout attributes the Dynamo store adds (dynamo-store.ts DynamoHeartbeatStore.put).
    const item = { pk: `POOLER#${'p'.repeat(128)}`, sk: 'POOLER', type: 'pooler', ttl: 2_000_000_000, ...hb };
    const total = dynamoItemSize(item);
    const shapesOnly = dynamoItemSize({ statements: hb.statements });
    const poolsOnly = dynamoItemSize({ pools: hb.pools });
    console.log(`heartbeat worst case: ${total} bytes (statements ${shapesOnly}, pools ${poolsOnly}) of ${DYNAMO_ITEM_MAX_BYTES}`);
    expect(Object.values(hb.statements).flat()).toHaveLength(HEARTBEAT_SHAPES_TOTAL);
    expect(shapesOnly).toBeLessThan(130 * 1024);
    expect(total).toBeLessThan(0.85 * DYNAMO_ITEM_MAX_BYTES);
  });
});
