// Starts moto's server mode (an AWS API emulator: DynamoDB, KMS, SSM, RDS, ...) on a free port
// for one test file, and points the AWS SDK v3 at it through AWS_ENDPOINT_URL (honoured natively by
// every v3 client). Without moto_server installed, suites declared with describeWithMoto are
// SKIPPED, and say so loudly (console warning + "[SKIPPED: ...]" in the suite name).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe } from 'vitest';
import { freePort } from '../../shared/src/local/postgres-server.ts';

const FALLBACK_PATHS = ['/root/.pyenv/shims/moto_server'];

export function findMotoServer(): string | undefined {
  const fromEnv = process.env.MOTO_SERVER;
  const candidates = [
    ...(fromEnv ? [fromEnv] : []),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'moto_server')),
    ...FALLBACK_PATHS,
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  /** Forgets all emulated state (moto's POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(bin = findMotoServer()): Promise<MotoServer> {
  if (!bin) throw new Error('moto_server not found (set MOTO_SERVER or install moto[server])');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  // Wait until it answers HTTP (python start-up takes a second or two).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`moto_server exited during start-up: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start within 30 s: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    port,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

const AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
} as const;

/**
 * Starts moto for the enclosing file/suite and sets AWS_ENDPOINT_URL, AWS_REGION=us-east-1 and
 * test credentials (restored afterwards). Create SDK clients inside tests/hooks, after this ran.
 */
export function useMoto(): { readonly server: MotoServer } {
  const handle: { server?: MotoServer } = {};
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    handle.server = await startMoto();
    const vars: Record<string, string> = { ...AWS_ENV, AWS_ENDPOINT_URL: handle.server.endpoint };
    for (const [k, v] of Object.entries(vars)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    // Credentials from a profile or SSO must not shadow the fake ones.
    for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await handle.server?.stop();
  });
  return {
    get server() {
      if (!handle.server) throw new Error('moto is not running (use it inside tests/hooks)');
      return handle.server;
    },
  };
}

const motoBin = findMotoServer();
export const motoAvailable = motoBin !== undefined;
const SKIP_REASON = 'moto_server not found on PATH, $MOTO_SERVER or /root/.pyenv/shims (pip install "moto[server]")';

/** describe() that runs only when moto_server is installed, and otherwise is skipped LOUDLY. */
export function describeWithMoto(name: string, fn: () => void): void {
  if (!motoAvailable) {
    console.warn(`\n*** SKIPPING "${name}": ${SKIP_REASON} ***\n`);
  }
  describe.skipIf(!motoAvailable)(motoAvailable ? name : `${name} [SKIPPED: ${SKIP_REASON}]`, fn);
}

/**
 * Creates the Switchyard table exactly as the stack does: pk/sk strings, GSI `byCluster` on
 * gsi1pk/gsi1sk projecting ALL, on-demand billing.
 */
export async function createSwitchyardTable(dynamodb: import('@aws-sdk/client-dynamodb').DynamoDBClient, tableName: string): Promise<void> {
  const { CreateTableCommand, waitUntilTableExists } = await import('@aws-sdk/client-dynamodb');
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byCluster',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: tableName });
}
