import { describe, expect, it } from 'vitest';
import { parseOpenFileLimit } from './open-files.ts';

const limits = (soft: string, hard: string): string =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             95000                95000                processes \nMax open files            ${soft}                ${hard}                files     \nMax locked memory         8388608              8388608              bytes     \n`;

describe('parseOpenFileLimit', () => {
  it('reads soft and hard "Max open files" from /proc/<pid>/limits', () => {
    expect(parseOpenFileLimit(limits('1024', '524288'))).toEqual({ soft: 1024, hard: 524288 });
  });

  it('treats "unlimited" as infinite', () => {
    expect(parseOpenFileLimit(limits('unlimited', 'unlimited'))).toEqual({ soft: Infinity, hard: Infinity });
  });

  it('returns undefined when the line is missing', () => {
    expect(parseOpenFileLimit('Limit Soft Hard\n')).toBeUndefined();
  });
});
