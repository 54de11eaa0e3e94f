// Statement shapes leave the pooler (heartbeats → GET /tenants/{id}/statements): no literal a
// client sends may survive normalizeSql, whatever form PostgreSQL's lexer gives it (docs
// "Lexical Structure" 4.1.2: '…', E'…', U&'…', B'…', X'…', N'…', $tag$…$tag$, numbers in every
// base, typed literals, array literals) or however the text is cut (RAW_MAX).
import { describe, expect, it } from 'vitest';
import { encodeParse } from '../net/extended.ts';
import * as msg from '../net/messages.ts';
import { cutUtf8 } from '../../../shared/src/domain/heartbeat.ts';
import { leadingQueryText, normalizeSql, RAW_MAX } from './statement-shapes.ts';

const S = 'sekrit'; // every literal below holds this marker (or a number made of 7s)

const CASES: string[] = [
  `SELECT * FROM t WHERE a = '${S}'`,
  `SELECT '${S}''s', 'it''s ${S}'`,
  `SELECT E'${S}\\' still ${S}', e'\\\\', '${S}'`,
  `SELECT E'\\x41${S}\\u0041'`,
  `SELECT U&'d\\0061t${S}' UESCAPE '!'`,
  `SELECT B'1010', X'7F7F', N'${S}'`,
  `SELECT $$${S}$$, $a$ $b$ ${S} $b$ $a$, $_x1$${S}$_x1$`,
  `DO $body$ BEGIN RAISE NOTICE '${S}'; END $body$`,
  `SELECT 77777, 7.77, .777, 777e7, 7.7E-7, 0x7F7F, 0o777, 0b0111, 7_777_777, 777abc`,
  `SELECT -777, +7.77, 7.`,
  `SELECT ARRAY[777, 7777], '{${S},777}'::text[], ARRAY['${S}']`,
  `SELECT date '2077-07-07', interval '7 days ${S}', int8 '777', '${S}'::jsonb->>'${S}'`,
  `INSERT INTO t VALUES ('${S}', 777), ('${S}', 7.77) ON CONFLICT DO NOTHING`,
  `ALTER ROLE r PASSWORD '${S}'`,
  `SELECT 'a\\' , '${S}', 777`,
  `SELECT '${S}`, // unterminated
  `SELECT E'${S}\\'`, // unterminated after an escaped quote
  `SELECT $q$${S}`, // unterminated dollar quote
  `SELECT /* ${S} /* nested ${S} */ ${S} */ 1 -- ${S}\n, 2`,
  `SELECT 'é${S}ü', '日本${S}'`,
  `SELECT 'a'\n'${S}'`, // continued string
  `SELECT x FROM t WHERE y IN (777,777,777) AND z BETWEEN 7.7 AND 77`,
];

describe('normalizeSql lets no literal through', () => {
  it.each(CASES)('%s', (sql) => {
    const out = normalizeSql(sql);
    expect(out).not.toContain(S);
    expect(out).not.toMatch(/7/);
    expect(out).not.toMatch(/2077|1010|7F|0061|\\x41/);
  });

  it('nor when the text is cut at RAW_MAX inside a literal (a Query or a Parse)', () => {
    for (const pad of [0, 1, 2, 7, 100]) {
      const sql = `SELECT ${'c, '.repeat((RAW_MAX - 30 - pad) / 3)}'${S.repeat(40)}', E'${S.repeat(40)}', $$${S.repeat(40)}$$, 7777777`;
      for (const m of [msg.query(sql), encodeParse('s1', Buffer.from(`${sql}\0\0\0`, 'latin1'))]) {
        const raw = leadingQueryText(m);
        expect(raw).not.toBeNull();
        const out = normalizeSql(Buffer.from(raw!, 'latin1').toString('utf8'));
        expect(out).not.toContain('sek');
        expect(out).not.toMatch(/7/);
      }
    }
  });

  it('and a cut for the heartbeat (500 bytes) only shortens the normalized text', () => {
    const text = normalizeSql(`SELECT ${'"é", '.repeat(400)}'${S}'`);
    const cut = cutUtf8(text);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(500);
    expect(cut.endsWith('…')).toBe(true);
    expect(text.startsWith(cut.slice(0, -1))).toBe(true);
    expect(cut).not.toContain('\ufffd');
  });
});
