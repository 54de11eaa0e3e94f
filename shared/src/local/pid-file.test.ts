import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidInFile, processIdentity, readLivePid, readPidFile, removePidFile, writePidFile } from './pid-file.ts';

describe('pid files that name one process', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-pidfile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('trusts the pid while the process that wrote it lives, and not after it exited', async () => {
    const file = join(dir, 'x.pid');
    expect(readLivePid(file)).toBeUndefined();
    writePidFile(file);
    expect(readLivePid(file)).toBe(process.pid);
    expect(pidInFile('123\nstart whatever\n')).toBe(123);

    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      writePidFile(file, child.pid!);
      expect(readLivePid(file)).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    expect(readLivePid(file)).toBeUndefined();
  });

  it('treats as stale: a live pid with another start time, a bare pid, pids 0/1, garbage', () => {
    const file = join(dir, 'x.pid');
    const id = processIdentity(process.pid)!;
    expect(id).toMatch(/^\S+ \d+$/);
    const [boot, start] = id.split(' ');
    for (const text of [`${process.pid}\nstart ${boot} ${Number(start) + 1}\n`, `${process.pid}\nstart other-boot ${start}\n`, `${process.pid}\n`, '1\n', '0\n', '-5\n', 'pooler\n', '']) {
      writeFileSync(file, text);
      expect(readLivePid(file), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('removes the file only while it names the writer (another process may have claimed it)', () => {
    const file = join(dir, 'x.pid');
    expect(readPidFile(file)).toBeUndefined();
    const remove = writePidFile(file);
    expect(readPidFile(file)).toBe(process.pid);
    writePidFile(file, process.ppid); // claimed by another process meanwhile
    remove();
    expect(readPidFile(file)).toBe(process.ppid);
    removePidFile(file, process.ppid);
    expect(existsSync(file)).toBe(false);
    remove(); // already gone: nothing to do
  });
});
