import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalConfigChannel } from './config-channel.ts';
import { writePidFile } from './pid-file.ts';

const targets = (epoch: number, host = '10.0.0.1') => ({
  writer: { host, port: 5432 },
  readers: [],
  epoch,
  eventTime: '2025-01-01T00:00:00.000Z',
});

describe('local config channel', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips cluster targets and never replaces them with a lower epoch', async () => {
    const ch = new LocalConfigChannel(dir);
    expect(await ch.getClusterTargets('main')).toBeUndefined();
    expect(await ch.publishClusterTargets('main', targets(2, 'new'))).toBe(true);
    expect(await ch.publishClusterTargets('main', targets(1, 'old'))).toBe(false);
    expect(await new LocalConfigChannel(dir).getClusterTargets('main')).toEqual(targets(2, 'new'));
    await ch.deleteClusterTargets('main');
    expect(await ch.getClusterTargets('main')).toBeUndefined();
  });

  it('hands out strictly increasing config versions, even to concurrent bumps', async () => {
    const ch = new LocalConfigChannel(dir);
    expect(await ch.getConfigVersion()).toBe(0);
    const got = await Promise.all(Array.from({ length: 8 }, () => ch.bumpConfigVersion()));
    expect(got.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await ch.getConfigVersion()).toBe(8);
  });

  it('does nothing on pushReload when no pooler pid file exists, or the pid is stale or bogus', async () => {
    const ch = new LocalConfigChannel(dir);
    expect(await ch.pushReload()).toEqual({ signalled: false });
    writeFileSync(join(dir, 'pooler.pid'), '4194305\n');
    expect(await ch.pushReload()).toEqual({ signalled: false });
    writeFileSync(join(dir, 'pooler.pid'), '1\n');
    expect(await ch.pushReload()).toEqual({ signalled: false });
  });

  it('sends SIGHUP to the pooler named in pooler.pid', async () => {
    const child = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => { console.log('reloaded'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        lines.push(...d.toString().trim().split('\n'));
        if (lines.includes('ready')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await ready;
      writePidFile(join(dir, 'pooler.pid'), child.pid);
      expect(await new LocalConfigChannel(dir).pushReload()).toEqual({ signalled: true });
      expect(await exited).toBe(0);
      expect(lines).toContain('reloaded');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
