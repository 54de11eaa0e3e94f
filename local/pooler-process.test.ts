// isStackPooler: a pooler.pid written before the file recorded the pooler's start time is trusted
// only if its process has exactly the arguments `switchyard start` gives its pooler.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScramVerifier } from '../shared/src/auth/verifier.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { ensureLayout, stateLayout, type StateLayout } from './layout.ts';
import { isStackPooler, startPoolerChild, type PoolerChild } from './pooler-process.ts';

let dir: string;
let layout: StateLayout;
let pooler: PoolerChild | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-pooler-child-'));
  layout = stateLayout(join(dir, 'state'));
  ensureLayout(layout);
  pooler = await startPoolerChild(layout, { host: '127.0.0.1', port: await freePort(), metricsPort: await freePort(), adminVerifier: createScramVerifier('admin-password-1'), logLevel: 'warn' });
});

afterAll(async () => {
  await pooler?.stop(2_000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('isStackPooler', () => {
  it('recognises the pooler of this state directory by its exact arguments, nothing else', async () => {
    expect(isStackPooler(pooler!.pid, layout)).toBe(true);
    expect(isStackPooler(pooler!.pid, stateLayout(join(dir, 'other')))).toBe(false);
    // A process whose command line mentions "pooler" and the state directory is not enough.
    const tail = spawn('tail', ['-f', layout.poolerLog], { stdio: 'ignore' });
    try {
      expect(isStackPooler(tail.pid!, layout)).toBe(false);
    } finally {
      tail.kill('SIGKILL');
    }
    expect(isStackPooler(process.pid, layout)).toBe(false);
  });
});
