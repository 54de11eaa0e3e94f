// SO_REUSEPORT lets processes of one user share a port. A second `--workers` pooler started on a
// port the first one's workers listen on must not quietly join them and take half of their clients:
// it refuses to start (exit 1, naming the port), and the first keeps serving alone.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toYaml } from '../shared/src/yaml.ts';
import { within } from './helpers/clients.ts';
import { httpGet } from './helpers/metrics.ts';
import { startWorkersPooler, type WorkersPooler } from './helpers/workers.ts';

const ROOT = resolve(import.meta.dirname, '..');

let dir: string;
let first: WorkersPooler | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-port-'));
  first = await startWorkersPooler({ tenants: [] }, dir, 2);
});

afterAll(async () => {
  await first?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('refuses to start on a port another pooler with workers listens on', async () => {
  const file = join(dir, 'second.yaml');
  writeFileSync(file, toYaml({ listen: { host: '127.0.0.1', port: first!.port }, log_level: 'error', tenants: [] }));
  const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard.js'), 'pooler', '--config', file, '--workers', '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.resume();
  const exit = await within(new Promise<number | null>((res) => child.once('exit', (code) => res(code))), 30_000, 'the second pooler to give up');
  expect(exit).toBe(1);
  expect(err).toContain(`127.0.0.1:${first!.port} is in use`);
  expect((await httpGet(first!.metricsPort, '/readyz')).status).toBe(200);
  expect(first!.workerPids()).toHaveLength(2);
});
