// Where the CLI sends the local stack's API token. The token in `<state dir>/api-token` opens the
// local API; it must reach that API only — not whatever else listens on a loopback port (another
// user's process on a shared machine can listen on 127.0.0.1:8080 while the stack is stopped, keep
// the token, and use it once the stack runs again: the token is reused across restarts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureApiToken } from '../local/api-token.ts';
import { DEFAULT_API, resolveApiToken } from './api-client.ts';

const root = mkdtempSync(join(tmpdir(), 'switchyard-cli-token-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function stateDir(stackApi?: string): { dir: string; token: string } {
  const dir = join(root, `s${n++}`);
  mkdirSync(dir, { mode: 0o700 });
  const token = ensureApiToken(dir);
  if (stackApi !== undefined) writeFileSync(join(dir, 'stack.json'), JSON.stringify({ api: stackApi }), { mode: 0o600 });
  return { dir, token };
}

describe('the API token the CLI sends', () => {
  it('sends the state directory’s token to the running stack’s API (its stack.json)', () => {
    const { dir, token } = stateDir('http://127.0.0.1:18080');
    expect(resolveApiToken('http://127.0.0.1:18080', { SWITCHYARD_STATE_DIR: dir })).toBe(token);
  });

  it('sends it to no other address, loopback or not, nor when no stack runs', () => {
    const running = stateDir('http://127.0.0.1:18080');
    for (const url of ['http://127.0.0.1:18081', 'http://localhost:9999', 'http://[::1]:18080', 'http://10.0.0.1:18080']) {
      expect(resolveApiToken(url, { SWITCHYARD_STATE_DIR: running.dir }), url).toBeUndefined();
    }
    const stopped = stateDir();
    expect(resolveApiToken(DEFAULT_API, { SWITCHYARD_STATE_DIR: stopped.dir })).toBeUndefined();
  });

  it('sends SWITCHYARD_API_TOKEN wherever it is told', () => {
    expect(resolveApiToken('http://10.0.0.1:8080', { SWITCHYARD_API_TOKEN: 'explicit' })).toBe('explicit');
  });
});
