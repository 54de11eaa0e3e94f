import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock, writeFileAtomic } from './atomic-file.ts';

describe('atomic file writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces the file whole and leaves no temp file behind', async () => {
    const p = join(dir, 'state.json');
    writeFileSync(p, 'old');
    await writeFileAtomic(p, 'new content');
    expect(readFileSync(p, 'utf8')).toBe('new content');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('leaves the old file intact and no partial file when the write fails', async () => {
    const p = join(dir, 'state.json');
    writeFileSync(p, 'old');
    // A data argument fs cannot write makes the write fail after the temp file was opened.
    await expect(writeFileAtomic(p, 42 as unknown as string)).rejects.toThrow();
    expect(readFileSync(p, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('fails cleanly when the target directory is missing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'state.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('runs lock holders one at a time and releases the lock after a failure', async () => {
    const p = join(dir, 'counter');
    writeFileSync(p, '0');
    const bump = () =>
      withFileLock(p, async () => {
        const v = Number(readFileSync(p, 'utf8'));
        await new Promise((r) => setImmediate(r));
        writeFileSync(p, String(v + 1));
      });
    await expect(withFileLock(p, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await Promise.all(Array.from({ length: 20 }, bump));
    expect(readFileSync(p, 'utf8')).toBe('20');
    expect(readdirSync(dir)).toEqual(['counter']);
  });

  it('breaks a lock left by a process that no longer exists', async () => {
    const p = join(dir, 'state');
    // pid 2^22+1 is above Linux's pid_max limit, so no such process can exist.
    writeFileSync(`${p}.lock`, String(4_194_305));
    await withFileLock(p, async () => writeFileSync(p, 'ok'));
    expect(readFileSync(p, 'utf8')).toBe('ok');
  });
});
